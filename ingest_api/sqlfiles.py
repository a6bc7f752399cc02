"""SQL assets under `sql/`, applied by migrations. Files are versioned and never edited once a
migration uses them (add `_v02.sql` and a migration instead), so old migrations still replay."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text()


def run_sql_file(connection: Connection, relative: str) -> None:
    # Executed by the driver as one script with no parameter parsing, so `%` and `:` are literal.
    connection.exec_driver_sql(read_sql(relative), execution_options={"no_parameters": True})
