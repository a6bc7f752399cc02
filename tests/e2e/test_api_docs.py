"""The API's docs pages on a machine without internet: real Chromium, every outside request refused.

The app runs in-process on a loopback port (no dashboard, so no `pulse up`); the browser may reach
that port and nothing else, and each refused request is recorded so a test can show none was made.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from ingest_api.docs import ASSETS_URL, REDOC_CSP
from ingest_api.main import create_app
from tests.api.support import make_settings
from tests.support import live_server

WIDE = {"width": 1440, "height": 900}
WAIT_MS = 20_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def api_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    with live_server(create_app(make_settings(db_url, tmp_path))) as url:
        yield url


@dataclass
class Offline:
    """A browser context that can reach only this machine, and what it tried to reach beyond it."""

    context: BrowserContext
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    context = browser.new_context(viewport=WIDE)  # type: ignore[arg-type]
    state = Offline(context)

    def gate(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            state.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", gate)
    yield state
    context.close()


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"href", "src"} and value]


def page_urls(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    return parser.urls


def operations(api_url: str) -> list[tuple[str, str]]:
    document: dict[str, Any] = httpx.get(f"{api_url}/openapi.json").json()
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


def opblock(page: Page, method: str, path: str) -> Any:
    summary = f'.opblock-summary-path[data-path="{path}"]'
    return page.locator(f".opblock.opblock-{method}:has({summary})")


class TestSwaggerUi:
    def test_page_loads_nothing_from_outside(self, api_url: str) -> None:
        response = httpx.get(f"{api_url}/docs")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        urls = page_urls(response.text)
        assert urls, "the page links no assets"
        assert all(url.startswith(f"{ASSETS_URL}/") for url in urls), urls

    @pytest.mark.e2e
    def test_lists_every_operation_with_the_network_cut_off(
        self, api_url: str, offline: Offline, artifacts: Path
    ) -> None:
        page = offline.new_page()
        page.goto(f"{api_url}/docs")
        expect(page.locator(".information-container .title")).to_contain_text(
            "Pipeline Pulse", timeout=WAIT_MS
        )
        expect(opblock(page, "post", "/api/events/run")).to_be_visible(timeout=WAIT_MS)
        expect(opblock(page, "get", "/api/metrics/summary")).to_be_visible()
        expected = operations(api_url)
        expect(page.locator(".opblock")).to_have_count(len(expected))
        page.screenshot(path=str(artifacts / "api-docs.png"), full_page=True)

        summary = opblock(page, "get", "/api/metrics/summary")
        summary.locator(".opblock-summary").click()
        summary.get_by_role("button", name="Try it out").click()
        summary.get_by_role("button", name="Execute").click()
        expect(summary.locator(".live-responses-table tbody .response-col_status")).to_have_text(
            "200", timeout=WAIT_MS
        )
        assert offline.blocked == []
        assert offline.errors == []


class TestRedoc:
    @pytest.mark.e2e
    def test_renders_with_the_network_cut_off(self, api_url: str, offline: Offline) -> None:
        page = offline.new_page()
        response = page.goto(f"{api_url}/redoc")
        assert response is not None
        assert response.headers["content-security-policy"] == REDOC_CSP
        expect(page.locator("h1", has_text="Pipeline Pulse")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("/api/events/run", exact=True).first).to_be_attached()
        assert offline.blocked == []
        assert offline.errors == []


class TestDocsAssets:
    @pytest.mark.parametrize(
        ("name", "content_type"),
        [
            ("swagger-ui-bundle.js", re.compile(r"^(text|application)/javascript\b")),
            ("swagger-ui.css", re.compile(r"^text/css\b")),
            ("redoc.standalone.js", re.compile(r"^(text|application)/javascript\b")),
            ("favicon.png", re.compile(r"^image/png$")),
        ],
    )
    def test_served_locally(self, api_url: str, name: str, content_type: re.Pattern[str]) -> None:
        response = httpx.get(f"{api_url}{ASSETS_URL}/{name}")
        assert response.status_code == 200
        assert content_type.match(response.headers["content-type"]), response.headers
        assert len(response.content) > 1000

    def test_missing_asset_is_a_not_found_envelope(self, api_url: str) -> None:
        response = httpx.get(f"{api_url}{ASSETS_URL}/nope.js")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"


class TestOAuth2Redirect:
    def test_page_is_served(self, api_url: str) -> None:
        response = httpx.get(f"{api_url}/docs/oauth2-redirect")
        assert response.status_code == 200
        assert "swaggerUIRedirectOauth2" in response.text
