"""Serves the built dashboard (frontend/dist) and the config.json it reads at start-up.

config.json carries the API's address from the settings, so any PULSE_API_PORT or
PULSE_PUBLIC_URL works without rebuilding the dashboard.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ingest_api.config import Settings

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"


def is_built(dist: Path = DIST) -> bool:
    """Whether `npm run build` (run by `make up`) has produced the dashboard."""
    return (dist / "index.html").is_file()


def create_ui_app(settings: Settings, dist: Path = DIST) -> Starlette:
    async def config(_: Request) -> JSONResponse:
        return JSONResponse({"apiUrl": settings.api_url}, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/config.json", config),
            Mount("/", StaticFiles(directory=dist, html=True)),
        ]
    )
