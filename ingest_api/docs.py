"""The API's docs pages (Swagger UI at /docs, ReDoc at /redoc), with every asset served locally.

FastAPI's own pages load their JavaScript, CSS and favicon from a CDN, so on a server without
internet /docs is a blank page. The same pages are built here with FastAPI's own HTML functions,
pointed at the copies that the pinned `fastapi-offline` package ships (Swagger UI 5, ReDoc 2, the
favicon). The app is created with `docs_url=None, redoc_url=None` so FastAPI adds none of its own.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# The package ships the files but no API to find them; a renamed folder fails at start-up, when
# StaticFiles checks that it exists, not as a blank page.
ASSETS_PACKAGE = ("fastapi_offline", "static")
REDOC_CSP = "img-src 'self' data:"


def install(app: FastAPI) -> None:
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise RuntimeError("the docs pages need the OpenAPI document; openapi_url is None")
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    # Behind a proxy that strips a prefix, every URL the page loads needs that prefix back, as
    # FastAPI's own pages do.
    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI, with its assets served by this API."""
        prefix = root(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{prefix}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{prefix}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=prefix + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    if oauth2_redirect_url:

        @app.get(oauth2_redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            """Where an OAuth2 provider sends Swagger UI's login back to."""
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc, with its script served by this API."""
        prefix = root(request)
        page = get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{prefix}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's bundle hard-codes its vendor's logo from a CDN and has no option to leave it
        # out; this makes the browser refuse it locally (the logo hides itself on error), so the
        # page asks nothing of the internet.
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
