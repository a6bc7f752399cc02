"""Engine and sessions. The engine is built in the app's lifespan; a request's session owns its
transaction (commit on success, roll back on error); services only flush."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from analytics import lenient

# Seconds a request waits for a connection (a new one, or a pooled one to come free).
CONNECT_TIMEOUT_SEC = 3


def sqlalchemy_url(url: str) -> URL:
    """Accept libpq-style URLs (postgres://, postgresql://) and select the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in {"postgresql", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL (for psql and raw psycopg)."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    return _engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # psycopg prepares a statement run 5 times; PostgreSQL may then switch to a generic plan
        # of the summary, which cannot see which branches of it apply (measured at 10M runs: a
        # year's summary went from 62 ms to over 20 s), so every call gets its own plan.
        plan_cache_mode="force_custom_plan",
        application_name="pipeline-pulse",
    )


def make_live_engine(url: str) -> Engine:
    """The live hub's connection (ingest_api/live/hub.py): its ticks and the advances of GET
    /api/metrics/summary take turns on it, each in one repeatable-read snapshot.

    One connection, so every statement stays prepared. Generic plans: the hub runs the same
    few statements over and over (run_summary_lines and pipeline_health for a few pipelines,
    summary_edge_pipelines), whose plans do not hinge on the values (the window's bounds are
    computed inside them; the pipelines are a few probed by index), unlike a whole summary's
    (make_engine), and a generic plan saves planning the inlined functions every time: that
    was most of their cost (16 subscriptions, 20 runs/s, 10k runs: PostgreSQL's CPU per tick
    110 -> 22 ms). No ping before each use: a connection found dead fails that tick (retried)
    or that GET (answered afresh), and the next use connects anew."""
    return _engine(
        url,
        pool_size=1,
        max_overflow=0,
        isolation_level="REPEATABLE READ",
        plan_cache_mode="force_generic_plan",
        application_name="pipeline-pulse-live",
    )


def _engine(url: str, *, plan_cache_mode: str, application_name: str, **pool: Any) -> Engine:
    engine = create_engine(
        sqlalchemy_url(url),
        # While the database is down a request fails within seconds (503), never queues longer:
        # the contract promises no request waits more than 5 s (bench/faults.py measures it).
        pool_timeout=CONNECT_TIMEOUT_SEC,
        # Every timestamp leaves the database as UTC, so it serialises with a trailing Z. JIT
        # compilation costs more than our short queries take (measured: 0.8 s on one summary).
        connect_args={
            "options": f"-c timezone=UTC -c jit=off -c plan_cache_mode={plan_cache_mode}",
            "application_name": application_name,
            "connect_timeout": CONNECT_TIMEOUT_SEC,
        },
        **pool,
    )
    # A stored time out of Python's range reads as null rather than failing the whole query.
    event.listen(engine, "connect", lambda connection, _record: lenient.register(connection))
    return engine


def make_write_pool(url: str, *, max_size: int = 16) -> AsyncConnectionPool:
    """Autocommit connections for the ingest route's single-statement writes."""
    return AsyncConnectionPool(
        libpq_url(url),
        min_size=1,
        max_size=max_size,
        # A request waits this long for a connection, then answers 503: with the database
        # down, 5 s here made requests wait 5.0x s, past the 5 s the contract allows.
        timeout=CONNECT_TIMEOUT_SEC,
        kwargs={
            "autocommit": True,
            "options": "-c timezone=UTC -c jit=off",
            "application_name": "pipeline-pulse",
            "connect_timeout": CONNECT_TIMEOUT_SEC,
        },
        open=False,
    )


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory.begin() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client that got
# its 200 reads its own write (the default, "request", would commit after sending).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
