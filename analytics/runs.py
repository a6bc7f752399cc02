"""Run listings, newest first, with a keyset cursor."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import RowMapping, func, select, text
from sqlalchemy.orm import Session

from analytics.models import PipelineOut, RunOut, RunStatus
from analytics.summary import health

log = logging.getLogger("pulse.read")


class InvalidCursor(ValueError):
    pass


def encode_token(raw: str) -> str:
    """An opaque page cursor (X-Next-Cursor) for `raw`: URL-safe, unpadded."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(value: str) -> str:
    """What `encode_token` wrapped; InvalidCursor for anything else."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidCursor(value) from exc


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    run_id: int

    def encode(self) -> str:
        return encode_token(f"{self.started_at.isoformat()}|{self.run_id}")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        raw = decode_token(value)
        try:
            started, run_id = raw.split("|")
            parsed = datetime.fromisoformat(started)
            if parsed.tzinfo is None:
                raise ValueError("naive cursor")
            return cls(parsed, int(run_id))
        except ValueError as exc:
            raise InvalidCursor(value) from exc


_RUN_COLUMNS = """
    runs.id, pipelines.name as pipeline, runs.status, runs.started_at, runs.finished_at,
    runs.duration_sec, runs.branch, runs.commit, runs.triggered_by, runs.external_id,
    runs.source, runs.url, runs.attempt, runs.conclusion
"""

# Newest first through ix_runs_started_at_id; a filter left null falls away in the custom plan
# every read connection makes (ingest_api/db.py).
_RUNS = text(
    f"""
    select {_RUN_COLUMNS}
    from runs
    join pipelines on pipelines.id = runs.pipeline_id
    where (cast(:pipeline as text) is null or pipelines.name = :pipeline)
        and (cast(:branch as text) is null or runs.branch = :branch)
        and (cast(:status as run_status) is null or runs.status = cast(:status as run_status))
        and (
            cast(:before_started_at as timestamptz) is null
            or (runs.started_at, runs.id) < (cast(:before_started_at as timestamptz), :before_id)
        )
    order by runs.started_at desc, runs.id desc
    limit :limit
    """  # noqa: S608 (the columns are ours; every value is a bound parameter)
)
_RUNS_BY_ID = text(
    f"""
    select {_RUN_COLUMNS}
    from runs
    join pipelines on pipelines.id = runs.pipeline_id
    where runs.id = any(:ids)
    order by runs.started_at desc, runs.id desc
    """  # noqa: S608 (the columns are ours; every value is a bound parameter)
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
    params = {
        "limit": limit + 1,
        "pipeline": pipeline,
        "branch": branch,
        "status": None if status is None else str(status),
        "before_started_at": None if before is None else before.started_at,
        "before_id": None if before is None else before.run_id,
    }
    rows = list(session.execute(_RUNS, params).mappings())
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
    return _shown(list(session.execute(_RUNS_BY_ID, {"ids": list(ids)}).mappings()))


def database_now(session: Session) -> datetime:
    """The database clock: "now" for every figure."""
    return session.execute(select(func.now())).scalar_one()


_PIPELINES = text("select * from pipeline_list()")
# Each pipeline's latest alert: one probe of (pipeline_id, id) per pipeline.
_LAST_ALERTS = text(
    """
    select pipelines.name, latest.*
    from pipelines
    cross join lateral (
        select id, kind, branch, state, created_at, sent_at
        from alerts
        where alerts.pipeline_id = pipelines.id
        order by id desc
        limit 1
    ) as latest
    """
)


def pipelines(session: Session) -> list[PipelineOut]:
    """Every pipeline with its branches (most recent first), all-time health and latest alert."""
    healths = health(session)
    alerts = {row["name"]: dict(row) for row in session.execute(_LAST_ALERTS).mappings()}
    return [
        PipelineOut.model_validate(
            {**row, "health": healths[row["name"]], "last_alert": alerts.get(row["name"])}
        )
        for row in session.execute(_PIPELINES).mappings()
    ]
