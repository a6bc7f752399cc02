"""The read path: typed functions over the database's functions, views and rollups.

The API's read routes and the Streamlit pages call these; neither writes aggregate SQL of its own.
"""

from analytics.runs import Cursor, InvalidCursor, database_now, pipelines, runs, runs_by_id
from analytics.summary import health, summary

__all__ = [
    "Cursor",
    "InvalidCursor",
    "database_now",
    "health",
    "pipelines",
    "runs",
    "runs_by_id",
    "summary",
]
