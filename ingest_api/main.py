"""The FastAPI application: factory, lifespan and wiring."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from ingest_api import docs, errors, logs, telemetry
from ingest_api.alerts.routes import router as alerts_router
from ingest_api.auth import TokenSource
from ingest_api.config import Settings, get_settings
from ingest_api.db import make_engine, make_live_engine, make_write_pool
from ingest_api.github.routes import router as github_router
from ingest_api.live.hub import LiveHub, close_clients_first_on_signals
from ingest_api.live.routes import router as live_router
from ingest_api.metrics.routes import router as metrics_router
from ingest_api.middleware import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_JSON_DEPTH,
    MAX_URL_BYTES,
    REQUEST_ID_HEADER,
    BodyLimit,
    RequestLimits,
    RequestLog,
)
from ingest_api.pipelines.routes import router as pipelines_router
from ingest_api.ratelimit import RateLimit
from ingest_api.runs.routes import IGNORED_FIELDS_HEADER
from ingest_api.runs.routes import events as events_router
from ingest_api.runs.routes import router as runs_router
from ingest_api.simulate.routes import router as simulate_router
from ingest_api.system.routes import router as system_router


def _description(settings: Settings) -> str:
    """The document's introduction; its numbers are the settings and limits in force."""
    return f"""
CI/CD pipeline health: CI systems report runs, PostgreSQL stores them and computes the figures.

**Access.** Ingest (`/api/events/*`, `DELETE`) needs `Authorization: Bearer
<PULSE_INGEST_TOKEN>`; `/api/webhooks/github` needs GitHub's signature
(`PULSE_GITHUB_WEBHOOK_SECRET`); reads are open. `POST /api/simulate` is open in demo mode only
(`PULSE_DEMO=true`).

**Errors.** Every 4xx/5xx body is `{{"error": "<Kind>", "detail": <message or
[{{"field": ..., "message": ...}}]>}}`. Kinds: `ValidationError` 422 (malformed JSON included),
`Unauthorized` 401, `Forbidden` 403, `NotFound` 404, `Conflict` 409, `PayloadTooLarge` 413
(bodies over {MAX_BODY_BYTES // 1024 // 1024} MiB), `UriTooLong` 414 (URLs over
{MAX_URL_BYTES // 1024} KiB), `HeadersTooLarge` 431 (over {MAX_HEADERS} headers or
{MAX_HEADER_BYTES // 1024} KiB of them), `RateLimited` 429, `DatabaseUnavailable` 503. A
rejected request writes nothing. JSON bodies nest at most {MAX_JSON_DEPTH} levels.

**Limits.** Writes are limited per token ({settings.rate_limit_ingest}) and, without a token,
per client address ({settings.rate_limit_public}), per API process: over it, 429 with
`Retry-After`. A client address holds at most {settings.ws_max_per_address} live connections.

**Time.** "Now" is the database clock. Timestamps are UTC, RFC 3339, with a trailing `Z`; naive
input timestamps are read as UTC.

**Live.** `WS /ws/metrics?minutes=&pipeline=&branch=` pushes `metrics_update` (the summary) on
connect and `metrics_update` + `runs_update` once per tick ({settings.live_tick_ms} ms) while
runs change, `runs_deleted` when runs are removed, a fresh summary at least every
{settings.live_refresh_sec:g} s, and a `heartbeat` after {settings.live_heartbeat_sec:g} s of
silence; each message carries `as_of`. Origins outside the allowlist get 403; a bad parameter
closes with 1008, a client too slow to keep up with 1013, shutdown with 1001. What a client
sends is ignored, but a message over 64 KiB closes with 1009, text that is not UTF-8 with 1007.

**Statuses.** `running`, `success`, `failure`, `cancelled`, `skipped`. Terminal: all but
`running`. Decided: `success` and `failure`; durations, percentiles, `last_status` and health use
decided runs only.
"""


async def _sample_pools(engine: Engine, write_pool: AsyncConnectionPool) -> None:
    """Keep pulse_db_connections_in_use current for this process, once a second."""
    while True:
        stats = write_pool.get_stats()
        telemetry.pool_in_use.labels("write").set(stats["pool_size"] - stats["pool_available"])
        telemetry.pool_in_use.labels("read").set(engine.pool.checkedout())  # type: ignore[attr-defined]
        await asyncio.sleep(1)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_format)
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set; start the API with `pulse api` or `pulse up`")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.database_url is not None
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker(engine, expire_on_commit=False)
        app.state.write_pool = make_write_pool(settings.database_url)
        # Not waiting: the API starts (and /health says 503) while the database is down.
        await app.state.write_pool.open(wait=False)
        live_engine = make_live_engine(settings.database_url)
        app.state.live = LiveHub(
            database_url=settings.database_url,
            sessions=sessionmaker(live_engine, expire_on_commit=False),
            spare_sessions=app.state.sessionmaker,
            # After a database restart, drop the write pool's dead connections at once rather
            # than answering one 503 per stale connection.
            on_reconnect=app.state.write_pool.check,
            tick_sec=settings.live_tick_ms / 1000,
            queue_size=settings.live_queue,
            heartbeat_sec=settings.live_heartbeat_sec,
            refresh_sec=settings.live_refresh_sec,
        )
        await app.state.live.start()
        close_clients_first_on_signals(app.state.live)
        sampler = asyncio.create_task(_sample_pools(engine, app.state.write_pool))
        try:
            yield
        finally:
            sampler.cancel()
            await app.state.live.stop()
            await app.state.write_pool.close()
            live_engine.dispose()
            engine.dispose()

    app = FastAPI(
        title="Pipeline Pulse",
        version=version("pipeline-pulse"),
        description=_description(settings),
        lifespan=lifespan,
        responses=errors.COMMON_ERRORS,
        # docs.install serves these pages with local assets instead of FastAPI's CDN ones.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = TokenSource(settings)
    app.state.live_by_address = Counter[str]()
    errors.install(app)
    docs.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
        expose_headers=["X-Next-Cursor", "Link", IGNORED_FIELDS_HEADER, REQUEST_ID_HEADER],
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(
        RateLimit, ingest=settings.rate_limit_ingest, public=settings.rate_limit_public
    )
    app.add_middleware(RequestLimits)
    # Outermost: every answer, even a 413 or an unhandled error, is logged with its id.
    app.add_middleware(RequestLog)
    for router in (
        system_router,
        pipelines_router,
        events_router,
        runs_router,
        metrics_router,
        simulate_router,
        github_router,
        alerts_router,
        live_router,
    ):
        app.include_router(router)
    return app
