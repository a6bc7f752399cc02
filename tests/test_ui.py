"""`pulse ui`: the built dashboard, its config.json, and the security headers on every answer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ingest_api.config import Settings
from ingest_api.ui import create_ui_app
from tests.support import live_server


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Pipeline Pulse</title>")
    return tmp_path


def test_every_answer_carries_the_security_headers(dist: Path) -> None:
    settings = Settings(_env_file=None, PULSE_PUBLIC_URL="https://pulse.example.com:8443/")
    with live_server(create_ui_app(settings, dist)) as url:
        for path in ("/", "/config.json", "/missing.js"):
            response = httpx.get(f"{url}{path}")
            policy = response.headers["content-security-policy"]
            assert (
                "connect-src 'self' https://pulse.example.com:8443 wss://pulse.example.com:8443"
                in policy
            )
            assert "frame-ancestors 'none'" in policy
            assert "script-src 'self'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
        config = httpx.get(f"{url}/config.json")
        assert config.json() == {
            "apiUrl": "https://pulse.example.com:8443",
            "trendsUrl": settings.streamlit_url,
        }
        assert config.headers["cache-control"] == "no-store"


def test_json_log_lines_carry_the_request_id(tmp_path: Path) -> None:
    """PULSE_LOG_FORMAT=json: each of our log lines is one JSON object (for a log collector)."""
    import json
    import logging

    from ingest_api.logs import JsonFormatter

    record = logging.LogRecord(
        "pulse.access",
        logging.INFO,
        __file__,
        1,
        "%s %s %s [request %s]",
        ("GET", "/api/runs", 200, "abc123"),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO"
    assert line["logger"] == "pulse.access"
    assert line["message"] == "GET /api/runs 200 [request abc123]"
    assert line["time"].endswith("+00:00")
