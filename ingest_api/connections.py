"""uvicorn's HTTP protocol with two guards against clients that hold connections open.

uvicorn waits for a request's headers for ever: a slow-loris client, trickling a byte now and
then, keeps its connection (and a file descriptor) as long as it likes, and enough of them stop
everyone else. So here:

- a request's headers must be complete within PULSE_HEADERS_TIMEOUT_SEC of its first byte (or
  of the connection opening), else the connection is closed;
- one client address holds at most PULSE_MAX_CONNECTIONS_PER_ADDRESS connections at once in a
  process, WebSocket ones included; a connection past that is closed at once.

`pulse api` runs uvicorn with `http="ingest_api.connections:GuardedHttp"` and
`ws_max_size=MAX_CLIENT_MESSAGE_BYTES`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ingest_api.config import get_settings

# Live clients have nothing to say: a bigger message closes the socket (1009) before it is
# buffered (uvicorn's default, 16 MiB, let each connection make the server hold that much).
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024


class GuardedHttp(HttpToolsProtocol):
    open_by_address: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else "unknown"
        self.open_by_address[self._address] += 1
        if self.open_by_address[self._address] > get_settings().max_connections_per_address:
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._release()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()
        # The connection lives on under the WebSocket protocol: release its place when that
        # one ends.
        websocket = self.transport.get_protocol()
        ended = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            self._release()
            ended(exc)

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(
            get_settings().headers_timeout_sec, self.transport.close
        )

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _release(self) -> None:
        if self._address is not None:
            self.open_by_address[self._address] -= 1
            if self.open_by_address[self._address] <= 0:
                del self.open_by_address[self._address]
            self._address = None
