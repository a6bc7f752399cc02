"""The write path: one event, one call of the database's `ingest_run` function.

The API calls it asynchronously, as one autocommit statement on a psycopg pool: the function
is atomic on its own, it commits before the response goes out, and no thread hop or ORM
session sits in the hot path (measured in bench/ingest.py: about half the server CPU per run).
The simulator and the CLI call the same statement inside their own transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import RunOut
from ingest_api.runs.schemas import RunEvent

INGEST_SQL = """
    select id, status, started_at, finished_at, duration_sec, branch, commit, triggered_by,
           external_id, source, url, attempt, conclusion
    from ingest_run(
        %(pipeline)s, %(status)s::run_status, %(started_at)s, %(finished_at)s,
        %(duration_sec)s, %(branch)s, %(commit)s, %(triggered_by)s, %(source)s,
        %(external_id)s, %(url)s, %(attempt)s, %(conclusion)s
    )
"""

# Deadlock and serialization failures are worth another try; nothing was written.
RETRYABLE = frozenset({"40P01", "40001"})
ATTEMPTS = 3

T = TypeVar("T")


def _run_out(row: dict[str, Any], event: RunEvent) -> RunOut:
    return RunOut.model_validate({**row, "pipeline": event.pipeline})


def ingest(session: Session, event: RunEvent) -> RunOut:
    """Store the event in the caller's transaction; return the stored run."""
    result = session.connection().exec_driver_sql(INGEST_SQL, event.model_dump())
    row = result.mappings().one()
    return _run_out(dict(row), event)


async def in_transaction(
    pool: AsyncConnectionPool, work: Callable[[AsyncCursor[dict[str, Any]]], Awaitable[T]]
) -> T:
    """Run `work` in one transaction on a pooled connection, again on a deadlock or
    serialization failure (nothing was written). The commit waits until `work` returns, so a
    failure anywhere in it (even in building the answer) leaves nothing written. (Measured in
    bench/ingest.py: psycopg's pipeline mode, which would save a round trip, cost more API CPU
    per run than it saved.)"""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with pool.connection() as conn, conn.transaction():
                return await work(conn.cursor(row_factory=dict_row))
        except psycopg.Error as exc:
            if exc.sqlstate in RETRYABLE and attempt < ATTEMPTS:
                await asyncio.sleep(0.01 * attempt)
                continue
            raise
    raise AssertionError("unreachable")


async def ingest_async(pool: AsyncConnectionPool, event: RunEvent) -> RunOut:
    """Store the event and return the stored run, committed once the answer is built."""
    params = event.model_dump()

    async def store(cursor: AsyncCursor[dict[str, Any]]) -> RunOut:
        await cursor.execute(INGEST_SQL, params)
        row = await cursor.fetchone()
        assert row is not None
        return _run_out(row, event)

    return await in_transaction(pool, store)


_DELETE_RUN = text(
    """
    select removed.*, pipelines.name as pipeline
    from delete_run(:run_id) as removed
    join pipelines on pipelines.id = removed.pipeline_id
    """
)
_DELETE_RUNS = text("select * from delete_runs(:pipeline, :source, :before, :dry_run)")


def delete_run(session: Session, run_id: int) -> RunOut | None:
    """Remove one run (the rollups and history follow); the run removed, or None."""
    row = session.execute(_DELETE_RUN, {"run_id": run_id}).mappings().one_or_none()
    return None if row is None else RunOut.model_validate(dict(row))


def delete_runs(
    session: Session,
    *,
    pipeline: str | None = None,
    source: str | None = None,
    before: datetime | None = None,
    dry_run: bool = False,
) -> dict[str, int]:
    """Remove the runs matching every filter given, per pipeline (None: any); how many each
    pipeline had that matched. With `dry_run` nothing is removed."""
    rows = session.execute(
        _DELETE_RUNS,
        {"pipeline": pipeline, "source": source, "before": before, "dry_run": dry_run},
    )
    return {row.pipeline: row.matched for row in rows}
