from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest_api.config import Settings
from ingest_api.main import create_app
from tests.support import live_server

TOKEN = "test-ingest-token-0123456789"


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


@pytest.fixture
def api_factory(db_url: str, tmp_path: Path) -> ApiFactory:
    """Start the real app on a real socket, with settings overridden as given."""

    @contextmanager
    def start(**overrides: Any) -> Iterator[Api]:
        settings = make_settings(db_url, tmp_path, **overrides)
        with (
            live_server(create_app(settings)) as url,
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            yield Api(url=url, db_url=db_url, client=client)

    return start


@pytest.fixture
def api(api_factory: ApiFactory) -> Iterator[Api]:
    with api_factory() as running:
        yield running
