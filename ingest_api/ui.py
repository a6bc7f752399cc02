"""Serves the built dashboard (frontend/dist) and the config.json it reads at start-up.

config.json carries the API's address from the settings, so any PULSE_API_PORT or
PULSE_PUBLIC_URL works without rebuilding the dashboard. Every answer carries security headers:
a Content-Security-Policy that lets the page load only its own files and talk only to the API
(HTTP and its WebSocket), never be framed, and send no referrer.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_api.config import Settings

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"


def is_built(dist: Path = DIST) -> bool:
    """Whether `npm run build` (run by `make up`) has produced the dashboard."""
    return (dist / "index.html").is_file()


def security_headers(api_url: str) -> list[tuple[bytes, bytes]]:
    """The dashboard's headers: it may reach its own files and the API, nothing else."""
    parts = urlsplit(api_url)
    api = f"{parts.scheme}://{parts.netloc}"
    socket = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {api} {socket}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        )
    )
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]


class SecurityHeaders:
    """Adds `headers` to every HTTP answer (pure ASGI: the static files stream untouched)."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_ui_app(settings: Settings, dist: Path = DIST) -> Starlette:
    async def config(_: Request) -> JSONResponse:
        return JSONResponse(
            {"apiUrl": settings.api_url, "trendsUrl": settings.trends_url},
            headers={"Cache-Control": "no-store"},
        )

    return Starlette(
        routes=[
            Route("/config.json", config),
            Mount("/", StaticFiles(directory=dist, html=True)),
        ],
        middleware=[Middleware(SecurityHeaders, headers=security_headers(settings.api_url))],
    )
