"""The read path: typed functions over the database's functions, views and rollups.

The API's read routes and the Streamlit pages call these; neither writes aggregate SQL of its own.
"""

from typing import Any

from analytics.alerts import AlertCursor, AlertOut, alerts
from analytics.github import deliveries, run_jobs
from analytics.runs import Cursor, InvalidCursor, database_now, pipelines, runs, runs_by_id
from analytics.summary import health, summary

__all__ = [
    "AlertCursor",
    "AlertOut",
    "Cursor",
    "DataState",
    "InvalidCursor",
    "Scope",
    "alerts",
    "daily_trends",
    "data_state",
    "database_now",
    "deliveries",
    "failure_heatmap",
    "failures_by",
    "filter_options",
    "flaky_commits",
    "health",
    "health_table",
    "job_times",
    "period_trends",
    "pipelines",
    "range_totals",
    "recovery_episodes",
    "run_jobs",
    "run_list",
    "runs",
    "runs_by_id",
    "slowest_pipelines",
    "slowest_steps",
    "summary",
]


_TRENDS = {
    "DataState",
    "Scope",
    "data_state",
    "failure_heatmap",
    "failures_by",
    "filter_options",
    "flaky_commits",
    "job_times",
    "period_trends",
    "range_totals",
    "recovery_episodes",
    "run_list",
    "slowest_pipelines",
    "slowest_steps",
}


def __getattr__(name: str) -> Any:
    # The history and trends functions need pandas: imported on first use, so the API (which
    # never calls them) does not load pandas in every worker.
    if name in {"daily_trends", "health_table"}:
        from analytics import history

        return getattr(history, name)
    if name in _TRENDS:
        from analytics import trends

        return getattr(trends, name)
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
