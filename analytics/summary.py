"""Window summaries and health, read through the SQL functions in `sql/functions`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import EXACT_PERCENTILES_UP_TO, Health, PipelineSummary, Summary

_SUMMARY = text(
    "select * from run_summary("
    ":minutes, :pipeline, :branch, :exact_up_to, cast(:as_of as timestamptz))"
)

_HEALTH = text(
    "select * from pipeline_health("
    ":minutes, :pipeline, :branch, cast(:as_of as timestamptz), cast(:pipeline_ids as integer[]))"
)

_HEALTH_FIELDS = tuple(Health.model_fields)


def health(
    session: Session,
    *,
    window_minutes: int | None = None,
    pipeline: str | None = None,
    branch: str | None = None,
    as_of: datetime | None = None,
    pipeline_ids: Collection[int] | None = None,
) -> dict[str, Health]:
    """Health per pipeline name; time to green counts recoveries in the `window_minutes` up to
    `as_of` (default now). Of the pipelines `pipeline_ids` only, when given."""
    params = {
        "minutes": window_minutes,
        "pipeline": pipeline,
        "branch": branch,
        "as_of": as_of,
        "pipeline_ids": None if pipeline_ids is None else list(pipeline_ids),
    }
    rows = session.execute(_HEALTH, params).mappings()
    return {
        row["pipeline"]: Health.model_validate({f: row[f] for f in _HEALTH_FIELDS}) for row in rows
    }


def summary(
    session: Session,
    *,
    minutes: int = 1440,
    pipeline: str | None = None,
    branch: str | None = None,
    exact_up_to: int = EXACT_PERCENTILES_UP_TO,
    as_of: datetime | None = None,
) -> Summary:
    """The contract's summary for runs with now - minutes < started_at <= now, where now is
    `as_of` when given (the figures a live update carries, recomputed)."""
    params = {
        "minutes": minutes,
        "pipeline": pipeline,
        "branch": branch,
        "exact_up_to": exact_up_to,
        "as_of": as_of,
    }
    rows = [dict(row) for row in session.execute(_SUMMARY, params).mappings()]
    total: dict[str, Any] = next(row for row in rows if row["is_total"])
    per_pipeline = sorted((row for row in rows if not row["is_total"]), key=lambda r: r["pipeline"])
    healths = (
        health(
            session, window_minutes=minutes, pipeline=pipeline, branch=branch, as_of=total["as_of"]
        )
        if per_pipeline
        else {}
    )
    return Summary.model_validate(
        {
            **total,
            "window_minutes": minutes,
            "per_pipeline": [
                PipelineSummary.model_validate({**row, "health": healths[row["pipeline"]]})
                for row in per_pipeline
            ],
        }
    )
