"""The README states the limits the code enforces: each number comes from its one constant or
setting, so a change there fails here until the README says the same."""

from __future__ import annotations

from pathlib import Path

from analytics.models import EXACT_PERCENTILES_UP_TO
from ingest_api.config import Settings
from ingest_api.filters import MAX_WINDOW_MINUTES
from ingest_api.middleware import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_JSON_DEPTH,
    MAX_URL_BYTES,
)
from ingest_api.runs.bulk import MAX_LISTED

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_numbers_match_their_constants() -> None:
    defaults = Settings(_env_file=None)
    stated = [
        f"windows of up to {EXACT_PERCENTILES_UP_TO:,} runs",
        f"`minutes` from 1 to {MAX_WINDOW_MINUTES}",
        f"bodies over {MAX_BODY_BYTES // 1024 // 1024} MiB",
        f"URLs over {MAX_URL_BYTES // 1024} KiB",
        f"over {MAX_HEADERS} headers or {MAX_HEADER_BYTES // 1024} KiB of them",
        f"nest at most {MAX_JSON_DEPTH} levels",
        f"each tick ({defaults.live_tick_ms} ms, `PULSE_LIVE_TICK_MS`)",
        f"`PULSE_LIVE_QUEUE` = {defaults.live_queue} messages",
        f"| `PULSE_LIVE_TICK_MS` | `{defaults.live_tick_ms}` |",
        f"| `PULSE_HISTORY_REFRESH_SEC` | `{defaults.history_refresh_sec:g}` |",
        f"the first {MAX_LISTED} of them",
    ]
    missing = [text for text in stated if text not in " ".join(README.split())]
    assert missing == []


def test_every_setting_is_documented() -> None:
    """In the README's settings table with its default, and in .env.example."""
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    defaults = Settings(_env_file=None)
    internal = {"PULSE_DATABASE_KIND"}  # set by `pulse up` for its children
    undocumented = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if not isinstance(alias, str) or alias in internal:
            continue
        if f"| `{alias}` |" not in README or alias not in example:
            undocumented.append(alias)
    assert undocumented == []
    for alias, value in (
        ("PULSE_RATE_LIMIT_INGEST", defaults.rate_limit_ingest),
        ("PULSE_RATE_LIMIT_PUBLIC", defaults.rate_limit_public),
        ("PULSE_MAX_CONNECTIONS_PER_ADDRESS", defaults.max_connections_per_address),
        ("PULSE_WS_MAX_PER_ADDRESS", defaults.ws_max_per_address),
        ("PULSE_HEADERS_TIMEOUT_SEC", f"{defaults.headers_timeout_sec:g}"),
    ):
        assert f"| `{alias}` | `{value}` |" in README
        assert f"# {alias}={value}" in example
