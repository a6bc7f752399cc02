"""The README states the limits the code enforces: each number comes from its one constant or
setting, so a change there fails here until the README says the same."""

from __future__ import annotations

from pathlib import Path

from analytics.models import EXACT_PERCENTILES_UP_TO
from ingest_api.config import Settings
from ingest_api.filters import MAX_WINDOW_MINUTES
from ingest_api.middleware import MAX_BODY_BYTES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_numbers_match_their_constants() -> None:
    defaults = Settings(_env_file=None)
    stated = [
        f"windows of up to {EXACT_PERCENTILES_UP_TO:,} runs",
        f"`minutes` from 1 to {MAX_WINDOW_MINUTES}",
        f"bodies over {MAX_BODY_BYTES // 1024 // 1024} MiB",
        f"each tick ({defaults.live_tick_ms} ms, `PULSE_LIVE_TICK_MS`)",
        f"`PULSE_LIVE_QUEUE` = {defaults.live_queue} messages",
        f"| `PULSE_LIVE_TICK_MS` | `{defaults.live_tick_ms}` |",
        f"| `PULSE_HISTORY_REFRESH_SEC` | `{defaults.history_refresh_sec:g}` |",
    ]
    missing = [text for text in stated if text not in " ".join(README.split())]
    assert missing == []
