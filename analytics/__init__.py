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
    "InvalidCursor",
    "alerts",
    "daily_trends",
    "database_now",
    "deliveries",
    "health",
    "health_table",
    "pipelines",
    "run_jobs",
    "runs",
    "runs_by_id",
    "summary",
]


def __getattr__(name: str) -> Any:
    # The history functions need pandas: imported on first use, so the API (which
    # never calls them) does not load pandas in every worker.
    if name in {"daily_trends", "health_table"}:
        from analytics import history

        return getattr(history, name)
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
