"""What the API tests share besides fixtures: the token, settings, and a handle on a running app."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ingest_api.config import Settings

TOKEN = "test-ingest-token-0123456789"

# The seed's example run, as a CI system would post it.
SEED_EXAMPLE = {
    "pipeline": "web",
    "status": "success",
    "started_at": "2025-08-25T20:28:03Z",
    "finished_at": "2025-08-25T20:28:10Z",
    "duration_sec": 7,
    "branch": "main",
    "commit": "5184f9...",
    "triggered_by": "octocat",
}


@dataclass
class Api:
    url: str
    db_url: str
    client: httpx.Client

    def ingest(self, body: dict[str, Any], token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post("/api/events/run", json=body, headers=headers)


def make_settings(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "PULSE_DATA_DIR": str(data_dir),
        "PULSE_INGEST_TOKEN": TOKEN,
        "PULSE_DEMO": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


ApiFactory = Callable[..., AbstractContextManager[Api]]
