"""GET /health and GET /api/info."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

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
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            now = connection.execute(text("select now()")).scalar_one()
    except DBAPIError:
        return envelope("DatabaseUnavailable", "the database is unreachable", 503, ok=False)
    return HealthOut(ok=True, time=now)


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
