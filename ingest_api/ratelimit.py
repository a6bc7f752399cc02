"""Rate limits on writes: per token for ingest, per client address for what needs no token.

A write that carries `Authorization` counts against its token's limit (PULSE_RATE_LIMIT_INGEST):
one runaway CI loop cannot starve the others. A write without one (the simulator, unsigned or
badly signed webhooks, attempts with no token at all) counts against its client address's limit
(PULSE_RATE_LIMIT_PUBLIC); deliveries GitHub signed do not. Over the limit: 429 `RateLimited`
with `Retry-After`, decided before the body is read. Reads are not limited: they are cheap
and answered from the rollups.

Counts are kept in memory by `limits`' moving window, per API process: with N workers a client
may reach N times the limit. Behind a reverse proxy, run uvicorn with `--forwarded-allow-ips`
so the client address is the caller's, not the proxy's.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_api.errors import RateLimited, error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GITHUB_WEBHOOK = "/api/webhooks/github"


def parse_limit(value: str | None) -> RateLimitItem | None:
    """`100/second`, `6000/minute`, `10 per 1 second`...; empty, `off` or `0`: no limit."""
    if value is None or value.strip().lower() in {"", "off", "0", "none"}:
        return None
    return parse(value)


class RateLimit:
    """Pure ASGI: counts each write against its token or its client address."""

    def __init__(self, app: ASGIApp, *, ingest: str | None, public: str | None) -> None:
        self.app = app
        self.ingest = parse_limit(ingest)
        self.public = parse_limit(public)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization")
        if authorization:
            # A digest, so no token is kept in memory longer than the request.
            key = "token:" + hashlib.sha256(authorization).hexdigest()
            if self.ingest is None or self.limiter.hit(self.ingest, key):
                await self.app(scope, receive, send)
            else:
                await self._refuse(self.ingest, key, scope, receive, send)
            return
        client = scope.get("client")
        key = "address:" + (client[0] if client else "unknown")
        if self.public is None:
            await self.app(scope, receive, send)
        elif not self.limiter.test(self.public, key):
            await self._refuse(self.public, key, scope, receive, send)
        else:
            status = 500

            async def send_noting_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                # A delivery GitHub signed is as trusted as a token and is not counted; the
                # signature is checked by the route, so this is known only from its answer.
                if not (scope["path"] == GITHUB_WEBHOOK and status < 400):
                    self.limiter.hit(self.public, key)

    async def _refuse(
        self, limit: RateLimitItem, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        reset_at = self.limiter.get_window_stats(limit, key).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        answer = error_response(
            RateLimited(
                f"over the limit of {limit}; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
        )
        await answer(scope, receive, send)
