"""Pure ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from ingest_api import telemetry
from ingest_api.errors import (
    HeadersTooLarge,
    PayloadTooLarge,
    PulseError,
    UriTooLong,
    ValidationFailed,
    envelope,
    error_response,
)

MAX_BODY_BYTES = 1024 * 1024
# Far past any route's needs (the longest query is a few filters of 200 characters), yet small
# enough that no parser or log line handles an absurd one, and under the 8 KiB request line
# that the WebSocket handshake parser gives up on without an answer.
MAX_URL_BYTES = 4 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024
# Deeper JSON than any event (GitHub's payloads nest 6 levels) is refused before parsing: Python's
# parser recurses and would fail on it with a bare 400.
MAX_JSON_DEPTH = 32
_JSON_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST = re.compile(rb"\[\]|\{\}")


def json_too_deep(body: bytes) -> bool:
    """Whether a JSON text nests deeper than MAX_JSON_DEPTH, judged on its brackets alone
    (strings removed) by stripping one innermost level per pass, all in C-speed calls."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _JSON_STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        brackets, stripped = _INNERMOST.subn(b"", brackets)
        if not brackets or not stripped:
            return False  # flat enough, or unbalanced: the JSON parser will say so
    return _INNERMOST.search(brackets) is not None


def _json_refusal(body: bytes) -> ValidationFailed | None:
    """What the JSON parser would fail on with a bare 400 rather than a 422."""
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        return ValidationFailed.field("body", f"JSON must be UTF-8 text (byte {exc.start} is not)")
    if json_too_deep(body):
        return ValidationFailed.field(
            "body", f"JSON is limited to {MAX_JSON_DEPTH} levels of nesting"
        )
    return None


class RequestLimits:
    """414 for a URL, 431 for headers beyond the limits above, for HTTP and WebSocket alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        url_bytes = len(scope.get("raw_path") or scope["path"].encode()) + len(
            scope.get("query_string", b"")
        )
        headers = scope["headers"]
        refusal: PulseError | None = None
        if url_bytes > MAX_URL_BYTES:
            refusal = UriTooLong(f"the URL is limited to {MAX_URL_BYTES} bytes")
        elif len(headers) > MAX_HEADERS or (
            sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES
        ):
            refusal = HeadersTooLarge(
                f"requests are limited to {MAX_HEADERS} headers, {MAX_HEADER_BYTES} bytes in all"
            )
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await error_response(refusal)(scope, receive, send)
        else:
            await deny(WebSocket(scope, receive, send), refusal)


async def deny(websocket: WebSocket, refusal: PulseError) -> None:
    """Refuse a WebSocket handshake with the error envelope as an HTTP answer where the server
    can send one, else with a bare refusal (the client sees a 403)."""
    try:
        await websocket.send_denial_response(error_response(refusal))
    except RuntimeError:
        await websocket.close(1008)


class BodyLimit:
    """Answer 413 for bodies over the limit, whether announced by Content-Length or streamed,
    and 422 for JSON bodies that are not UTF-8 or nest too deep.

    The body is read here, up to the limit, and replayed to the app: nothing downstream ever
    sees a partial or oversized body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        too_large = error_response(
            PayloadTooLarge(f"request bodies are limited to {self.max_bytes} bytes")
        )
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if b"json" in content_type and (refusal := _json_refusal(body)):
            await error_response(refusal)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("pulse.access")
error_log = logging.getLogger("pulse.errors")


class RequestLog:
    """An access line per HTTP request (method, path, status, ms) and a request id.

    The id is the client's `X-Request-ID` when it is a plain token, else a new one; it is
    returned in `X-Request-ID`, carried by 5xx error answers and logged with their exception,
    so an operator can find the traceback behind a user's report. An exception no handler
    took is logged here with its traceback and answered with the error envelope (500).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        )
        request_id = given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception(
                "unhandled error in %s %s [request %s]", scope["method"], scope["path"], request_id
            )
            if not response_started:
                answer = envelope("InternalError", "internal error", 500, request_id=request_id)
                await answer(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            access_log.info(
                "%s %s %s %.1f ms [request %s]",
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                request_id,
            )
            # The route's template, not the path: one series per route, whatever the ids.
            route = getattr(scope.get("route"), "path", "unmatched")
            telemetry.http_requests.labels(scope["method"], route, str(status)).observe(elapsed)
