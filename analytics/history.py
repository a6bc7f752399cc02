"""Daily history for trends and reporting, from the views in `sql/views` as DataFrames.

The views are what SQL readers (analysts, BI tools, the read-only role of `pulse sql-role`)
see too; `pulse worker` keeps the daily ones fresh (sql/functions/refresh_history_v01.sql).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

# Everything a read-only SQL role may read, and nothing else.
SQL_VIEWS = (
    "runs_staged",
    "pipeline_health_current",
    "daily_pipeline_history",
    "daily_branch_history",
)

DAILY_COLUMNS = [
    "day",
    "total",
    "success",
    "failure",
    "running",
    "cancelled",
    "skipped",
    "success_rate",
    "avg_duration_sec",
    "p50_duration_sec",
    "p95_duration_sec",
    "recoveries",
    "mean_time_to_green_sec",
]

# Every day of the range, oldest first; a day without runs has zero counts and no durations.
_DAILY = """
with days as (
    select day::date as day
    from generate_series(
        (now() at time zone 'UTC')::date - (:days - 1),
        (now() at time zone 'UTC')::date,
        interval '1 day'
    ) as day
),

history as (
    select * from {view}
    where pipeline = :pipeline {branch_filter}
        and day > (now() at time zone 'UTC')::date - :days
),

filled as (
    select
        days.day,
        coalesce(history.total, 0) as total,
        coalesce(history.success, 0) as success,
        coalesce(history.failure, 0) as failure,
        coalesce(history.running, 0) as running,
        coalesce(history.cancelled, 0) as cancelled,
        coalesce(history.skipped, 0) as skipped,
        history.success_rate,
        history.avg_duration_sec,
        history.p50_duration_sec,
        history.p95_duration_sec,
        coalesce(history.recoveries, 0) as recoveries,
        history.mean_time_to_green_sec
    from days
    left join history on history.day = days.day
)

select * from filled order by day
"""
_PIPELINE_DAILY = text(_DAILY.format(view="daily_pipeline_history", branch_filter=""))
_BRANCH_DAILY = text(
    _DAILY.format(view="daily_branch_history", branch_filter="and branch = :branch")
)
_HEALTH = text("select * from pipeline_health_current order by pipeline")


def daily_trends(
    session: Session, *, pipeline: str, branch: str | None = None, days: int = 365
) -> pd.DataFrame:
    """One row per UTC day of the last `days` (today included) for a pipeline, or one of its
    branches: counts per status, success rate, average / p50 / p95 duration, recoveries and
    mean time to green. As fresh as the last history refresh."""
    if days < 1:
        raise ValueError("days must be at least 1")
    query, params = (
        (_PIPELINE_DAILY, {"pipeline": pipeline, "days": days})
        if branch is None
        else (_BRANCH_DAILY, {"pipeline": pipeline, "branch": branch, "days": days})
    )
    rows = session.execute(query, params).all()
    frame = pd.DataFrame(rows, columns=DAILY_COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame.astype(
        {
            "success_rate": "float64",
            "avg_duration_sec": "float64",
            "p50_duration_sec": "float64",
            "p95_duration_sec": "float64",
            "mean_time_to_green_sec": "float64",
        }
    )


def health_table(session: Session) -> pd.DataFrame:
    """Every pipeline's all-time health as of the last history refresh."""
    result = session.execute(_HEALTH)
    return pd.DataFrame(result.all(), columns=list(result.keys()))
