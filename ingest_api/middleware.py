"""Pure ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_api.errors import PayloadTooLarge, envelope, error_response

MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """Answer 413 for bodies over the limit, whether announced by Content-Length or streamed.

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
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
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
            access_log.info(
                "%s %s %s %.1f ms [request %s]",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )
