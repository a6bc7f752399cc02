"""Run listings, newest first, with a keyset cursor."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import RowMapping, func, select, text, tuple_
from sqlalchemy.orm import Session

from analytics.models import PipelineOut, RunOut
from analytics.summary import health
from ingest_api.models import Pipeline, Run, RunStatus

log = logging.getLogger("pulse.read")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    run_id: int

    def encode(self) -> str:
        raw = f"{self.started_at.isoformat()}|{self.run_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            started, run_id = raw.split("|")
            parsed = datetime.fromisoformat(started)
            if parsed.tzinfo is None:
                raise ValueError("naive cursor")
            return cls(parsed, int(run_id))
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise InvalidCursor(value) from exc


_RUN_COLUMNS = (
    Run.id,
    Pipeline.name.label("pipeline"),
    Run.status,
    Run.started_at,
    Run.finished_at,
    Run.duration_sec,
    Run.branch,
    Run.commit,
    Run.triggered_by,
    Run.external_id,
    Run.source,
    Run.url,
)


def runs(
    session: Session,
    *,
    limit: int = 20,
    pipeline: str | None = None,
    branch: str | None = None,
    status: RunStatus | None = None,
    before: Cursor | None = None,
) -> tuple[list[RunOut], Cursor | None]:
    """Runs newest `started_at` first (ties by id), and the cursor of the next page if any."""
    query = select(*_RUN_COLUMNS).join(Pipeline, Pipeline.id == Run.pipeline_id)
    if pipeline is not None:
        query = query.where(Pipeline.name == pipeline)
    if branch is not None:
        query = query.where(Run.branch == branch)
    if status is not None:
        query = query.where(Run.status == status)
    if before is not None:
        query = query.where(tuple_(Run.started_at, Run.id) < (before.started_at, before.run_id))
    query = query.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit + 1)
    rows = list(session.execute(query).mappings())
    page = _shown(rows[:limit])
    last = rows[limit - 1] if len(rows) > limit else None
    cursor = (
        Cursor(last["started_at"], last["id"])
        if last is not None and last["started_at"] is not None
        else None
    )
    return page, cursor


def _shown(rows: Collection[RowMapping]) -> list[RunOut]:
    """The rows as runs; a stored row that cannot be shown is skipped with a log line, so one
    bad row never fails a listing."""
    shown = []
    for row in rows:
        try:
            shown.append(RunOut.model_validate(dict(row)))
        except ValidationError as exc:
            log.warning("skipping run %s, which cannot be shown: %s", row.get("id"), exc)
    return shown


def runs_by_id(session: Session, ids: Collection[int]) -> list[RunOut]:
    """Those of `ids` that exist, newest `started_at` first (ties by id)."""
    if not ids:
        return []
    query = (
        select(*_RUN_COLUMNS)
        .join(Pipeline, Pipeline.id == Run.pipeline_id)
        .where(Run.id.in_(list(ids)))
        .order_by(Run.started_at.desc(), Run.id.desc())
    )
    return _shown(list(session.execute(query).mappings()))


def database_now(session: Session) -> datetime:
    """The database clock: "now" for every figure."""
    return session.execute(select(func.now())).scalar_one()


# From the branches' running totals (counts) and index probes (the branches, each branch's
# latest run, the pipeline's last run), never a scan of runs. Branches are ordered by their
# latest run, most recent first.
_PIPELINES = text(
    """
    with recursive branch_keys as (
        -- The distinct branches of each pipeline, one index probe each (a loose index scan).
        select first.pipeline_id, first.branch
        from pipelines
        cross join lateral (
            select pipeline_id, branch
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = pipelines.id
            order by branch
            limit 1
        ) as first
        union all
        select next.pipeline_id, next.branch
        from branch_keys
        cross join lateral (
            select pipeline_id, branch
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = branch_keys.pipeline_id
                and branch_hour_totals.branch > branch_keys.branch
            order by branch
            limit 1
        ) as next
    ),

    -- A branch's latest totals row counts all its runs.
    branches as (
        select branch_keys.*, totals.runs
        from branch_keys
        cross join lateral (
            select running + success + failure + cancelled + skipped as runs
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = branch_keys.pipeline_id
                and branch_hour_totals.branch = branch_keys.branch
            order by hour_start desc
            limit 1
        ) as totals
        where totals.runs > 0
    ),

    recency as (
        select branches.*, latest.started_at as latest_run_at
        from branches
        cross join lateral (
            -- Each totals row follows an hour that had a run of the branch: the latest run is
            -- in the latest such hour that still has one (nearly always the last row's).
            select hours.started_at
            from (
                select (
                    select max(runs.started_at)
                    from runs
                    where runs.pipeline_id = branches.pipeline_id
                        and runs.branch = branches.branch
                        and runs.started_at >= totals.hour_start - interval '1 hour'
                        and runs.started_at < totals.hour_start
                ) as started_at
                from branch_hour_totals as totals
                where totals.pipeline_id = branches.pipeline_id
                    and totals.branch = branches.branch
                order by totals.hour_start desc
            ) as hours
            where hours.started_at is not null
            limit 1
        ) as latest
    )

    select
        pipelines.id,
        pipelines.name,
        coalesce(
            array_agg(recency.branch order by recency.latest_run_at desc, recency.branch)
                filter (where recency.branch is not null),
            '{}'
        ) as branches,
        coalesce(sum(recency.runs), 0)::bigint as total_runs,
        (
            select max(runs.started_at) from runs where runs.pipeline_id = pipelines.id
        ) as last_run_at
    from pipelines
    left join recency on recency.pipeline_id = pipelines.id
    group by pipelines.id, pipelines.name
    order by pipelines.name
    """
)


def pipelines(session: Session) -> list[PipelineOut]:
    """Every pipeline with its branches (most recent first) and all-time health."""
    healths = health(session)
    return [
        PipelineOut.model_validate({**row, "health": healths[row["name"]]})
        for row in session.execute(_PIPELINES).mappings()
    ]
