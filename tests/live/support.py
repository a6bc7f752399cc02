"""Live-update test helpers: a handle on a `pulse api` process and a WebSocket client's reads."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.api.support import TOKEN


@dataclass
class ApiProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/ws/metrics"

    def ingest(self, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/events/run",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(60)

    @property
    def log(self) -> str:
        return self.log_path.read_text()


ApiProcessFactory = Callable[..., AbstractContextManager[ApiProcess]]


def open_socket(api: ApiProcess, query: str = "", **options: Any) -> ClientConnection:
    # No client keepalive: on a loaded machine a late pong would close the socket (1011) in
    # the middle of a test that is about what the server sends, not about keepalives.
    options.setdefault("ping_interval", None)
    ws: ClientConnection = connect(f"{api.ws_url}{query}", open_timeout=30, **options)
    return ws


def read_until_closed(ws: ClientConnection, timeout: float = 60) -> tuple[int | None, str]:
    """Drain the socket until the server closes it; its close code and reason."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed:
        return ws.close_code, ws.close_reason or ""


def receive(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    """The next message; every message names its type and the database time it describes."""
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    assert message["type"] in {"metrics_update", "runs_update", "runs_deleted", "heartbeat"}
    assert message["as_of"].endswith("Z")
    return message


def receive_until(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read until a message satisfies `wanted`; returns it and everything read on the way."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no wanted message within {timeout} s; got {seen[-3:]}")
        message = receive(ws, timeout=remaining)
        seen.append(message)
        if wanted(message):
            return message, seen


def receive_run_and_total(
    ws: ClientConnection, run_id: int, total: int, timeout: float = 60
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read until a runs_update has listed `run_id` and a metrics_update counts `total` runs
    (one tick sends both, the runs first); returns that metrics_update and runs_update."""
    found: dict[str, dict[str, Any]] = {}

    def wanted(message: dict[str, Any]) -> bool:
        if message["type"] == "metrics_update" and message["payload"]["total"] == total:
            found["metrics"] = message
        if message["type"] == "runs_update" and run_id in {r["id"] for r in message["payload"]}:
            found["runs"] = message
        return len(found) == 2

    receive_until(ws, wanted, timeout)
    return found["metrics"], found["runs"]


def without_as_of(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key != "as_of"}
