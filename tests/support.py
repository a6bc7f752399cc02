"""Shared test machinery: a live uvicorn server on a real socket, and database helpers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import uvicorn
from starlette.applications import Starlette

from ingest_api.connections import MAX_CLIENT_MESSAGE_BYTES
from ingest_api.processes import wait_until

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.05) -> T:
    """Poll until `predicate()` is truthy; a generous bound, never a timing assertion."""
    value = wait_until(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"condition not met within {timeout} s")
    return value


@contextmanager
def live_server(app: Starlette) -> Iterator[str]:
    """Serve `app` with uvicorn on an ephemeral loopback port; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES,  # as `pulse api` serves it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def table_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables ingest writes, to show a rejected request changed nothing."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select * from {table} order by id").fetchall()
            for table in ("pipelines", "runs")
        }
