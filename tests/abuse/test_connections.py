"""`pulse api`'s connection guards: slow-loris clients cut off, connections capped per address."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

import httpx
from websockets.sync.client import connect

from tests.live.support import ApiProcess, ApiProcessFactory


def open_raw(api: ApiProcess, first_bytes: bytes = b"") -> socket.socket:
    parts = urllib.parse.urlsplit(api.url)
    conn = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30)
    if first_bytes:
        conn.sendall(first_bytes)
    return conn


def closed_by_server(conn: socket.socket) -> bool:
    """True once the server has closed the connection (a read sees the end)."""
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_a_slow_loris_is_cut_off_and_others_are_served(api_process: ApiProcessFactory) -> None:
    with api_process(PULSE_HEADERS_TIMEOUT_SEC="1") as api:
        trickling = open_raw(api, b"GET /health HTTP/1.1\r\nHost: pulse\r\nX-Slow: ")
        idle = open_raw(api)
        try:
            assert httpx.get(f"{api.url}/health", timeout=30).status_code == 200
            # Closed by the 1 s deadline: a read would otherwise time out after 30 s.
            assert closed_by_server(trickling)
            assert closed_by_server(idle)
        finally:
            trickling.close()
            idle.close()


def test_connections_are_capped_per_address(api_process: ApiProcessFactory) -> None:
    with api_process(PULSE_MAX_CONNECTIONS_PER_ADDRESS="3") as api:
        held = [open_raw(api) for _ in range(3)]
        try:
            refused = open_raw(api)
            assert closed_by_server(refused)
            refused.close()
            held.pop().close()
            # A freed place serves again (retried: the server sees the close a moment later).
            for _ in range(100):
                try:
                    if httpx.get(f"{api.url}/health", timeout=30).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise AssertionError("no request was served after a place was freed")
        finally:
            for conn in held:
                conn.close()


def test_a_live_connection_outlives_the_header_deadline(api_process: ApiProcessFactory) -> None:
    with (
        api_process(PULSE_HEADERS_TIMEOUT_SEC="1", PULSE_LIVE_HEARTBEAT_SEC="0.5") as api,
        connect(api.ws_url, open_timeout=30) as socket,
    ):
        assert json.loads(socket.recv(30))["type"] == "metrics_update"
        # Heartbeats keep arriving well past the headers' deadline.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert json.loads(socket.recv(30))["type"] == "heartbeat"
