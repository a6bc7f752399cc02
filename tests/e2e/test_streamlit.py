"""The Streamlit trends app through `pulse up`, in headless Chromium: every page renders real
figures at a desktop and a phone width, with no exception shown."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.processes import pulse_up
from tests.support import wait_for

pytestmark = pytest.mark.e2e

PAGES = ("", "reliability", "time", "breakages", "runs")
CONTENT = (
    "[data-testid='stMetricValue'], [data-testid='stDataFrame'],"
    " [data-testid='stPlotlyChart'], [data-testid='stAlert']"
)


def test_every_page_renders_through_pulse_up(
    browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    with pulse_up(tmp_path / "data", tmp_path / "up.log") as up:
        simulated = httpx.post(
            f"{up.api_url}/api/simulate?count=300&fail_rate=0.3&hours=72",
            json={"pipelines": ["web", "api", "docs"]},
            timeout=120,
        )
        assert simulated.status_code == 200
        # The worker puts the runs into the daily history the app reads.
        wait_for(lambda: "history refreshed" in up.output, timeout=60, interval=0.5)
        base = f"http://127.0.0.1:{up.env['PULSE_STREAMLIT_PORT']}"
        headers = httpx.get(f"{base}/").headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "connect-src 'self';" in headers["content-security-policy"]
        assert (headers["x-content-type-options"], headers["referrer-policy"]) == (
            "nosniff",
            "no-referrer",
        )
        assert "Trends" in up.output
        for width, height in ((1440, 900), (390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            refused: list[str] = []
            page.on(
                "console",
                lambda message: (
                    refused.append(message.text)  # noqa: B023
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            for path in PAGES:
                page.goto(f"{base}/{path}")
                # Streamlit renders over its own websocket: wait for content, not for load.
                page.get_by_test_id("stAppViewContainer").wait_for(timeout=60_000)
                page.wait_for_selector(CONTENT, timeout=60_000)
                # The script goes on after the first content: wait until it has finished (no
                # running indicator, no placeholder left) and each chart has drawn its SVG.
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=stStatusWidget]')"
                    " && !document.querySelector('[data-testid=stSkeleton]')"
                    " && [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
                    ".every(chart => chart.querySelector('svg.main-svg'))",
                    timeout=60_000,
                )
                page.wait_for_timeout(500)  # the last chart's transition
                assert page.get_by_test_id("stException").count() == 0, path
                assert page.get_by_text("database is not answering").count() == 0, path
                name = path or "trends"
                page.screenshot(path=artifacts / f"streamlit-{name}-{width}.png", full_page=True)
            # The app works whole under its security headers' policy.
            assert refused == [], refused
            context.close()
