"""The write path: one event, one call of the database's `ingest_run` function.

The API calls it asynchronously, as one autocommit statement on a psycopg pool: the function
is atomic on its own, it commits before the response goes out, and no thread hop or ORM
session sits in the hot path (measured in bench/ingest.py: about half the server CPU per run).
The simulator and the CLI call the same statement inside their own transactions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.orm import Session

from analytics.models import RunOut
from ingest_api.runs.schemas import RunEvent

INGEST_SQL = """
    select id, status, started_at, finished_at, duration_sec, branch, commit, triggered_by,
           external_id, source, url
    from ingest_run(
        %(pipeline)s, %(status)s::run_status, %(started_at)s, %(finished_at)s,
        %(duration_sec)s, %(branch)s, %(commit)s, %(triggered_by)s, %(source)s,
        %(external_id)s, %(url)s
    )
"""

# Deadlock and serialization failures are worth another try; nothing was written.
RETRYABLE = frozenset({"40P01", "40001"})
ATTEMPTS = 3


def _run_out(row: dict[str, Any], event: RunEvent) -> RunOut:
    return RunOut.model_validate({**row, "pipeline": event.pipeline})


def ingest(session: Session, event: RunEvent) -> RunOut:
    """Store the event in the caller's transaction; return the stored run."""
    result = session.connection().exec_driver_sql(INGEST_SQL, event.model_dump())
    row = result.mappings().one()
    return _run_out(dict(row), event)


async def ingest_async(pool: AsyncConnectionPool, event: RunEvent) -> RunOut:
    """Store the event as one committed statement; return the stored run."""
    params = event.model_dump()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with pool.connection() as conn:
                cursor = conn.cursor(row_factory=dict_row)
                await cursor.execute(INGEST_SQL, params)
                row = await cursor.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate in RETRYABLE and attempt < ATTEMPTS:
                await asyncio.sleep(0.01 * attempt)
                continue
            raise
        assert row is not None
        return _run_out(row, event)
    raise AssertionError("unreachable")
