"""The API app on a real socket, with settings overridden per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest_api.main import create_app
from tests.api.support import Api, ApiFactory, make_settings
from tests.support import live_server


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
