"""GET /health, GET /metrics and GET /api/info."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text

from ingest_api import telemetry
from ingest_api.db import CONNECT_TIMEOUT_SEC, libpq_url
from ingest_api.errors import envelope
from ingest_api.system.schemas import HealthOut, InfoOut, LiveOut

router = APIRouter(tags=["system"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The database is unreachable: the error envelope with `ok` false.",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/ErrorOut"},
                        {"type": "object", "properties": {"ok": {"const": False}}},
                    ]
                }
            }
        },
    }
}


@router.get("/health", response_model=HealthOut, responses=_UNAVAILABLE)
def health(request: Request) -> HealthOut | JSONResponse:
    """Liveness with the database: ok and the database clock."""
    url = libpq_url(request.app.state.settings.database_url)
    try:
        # A connection of its own, not the pool's: a pooled one to a hung server (SIGSTOPped,
        # measured by bench/faults.py) left this check unanswered for as long as the server
        # hung; a new one fails within the connect timeout.
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SEC, autocommit=True) as conn:
            row = conn.execute("select now()").fetchone()
    except psycopg.Error:
        return envelope("DatabaseUnavailable", "the database is unreachable", 503, ok=False)
    assert row is not None
    return HealthOut(ok=True, time=row[0])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format: one figure across all API processes.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """Figures for Prometheus: requests by route and status (count and latency), webhook
    deliveries, live clients, dropped messages, ticks and summaries, listener reconnects,
    database connections in use, history refreshes and what waits for one, the alert outbox and
    delivery attempts (the last three read from the database at scrape time)."""
    body = telemetry.exposition(request.app.state.engine)
    return Response(body, media_type=telemetry.CONTENT_TYPE)


@router.get("/api/info")
def info(request: Request) -> InfoOut:
    """Product version, database kind and version, demo mode and the environment hint."""
    settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    with engine.connect() as connection:
        server_version = connection.execute(text("show server_version")).scalar_one()
    return InfoOut(
        version=version("pipeline-pulse"),
        database="embedded" if settings.database_kind == "embedded" else "external",
        database_version=server_version,
        demo=settings.demo,
        environment=settings.environment,
        api_url=settings.api_url,
        live=LiveOut(**request.app.state.live.stats()),
    )
