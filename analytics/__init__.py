"""The read path: typed functions over the database's functions, views and rollups.

The API's read routes and the Streamlit pages call these; neither writes aggregate SQL of its own.
"""

from analytics.runs import Cursor, InvalidCursor, pipelines, runs
from analytics.summary import health, summary

__all__ = ["Cursor", "InvalidCursor", "health", "pipelines", "runs", "summary"]
