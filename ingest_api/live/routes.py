"""WS /ws/metrics: the summary, live."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from ingest_api.errors import RateLimited
from ingest_api.filters import SummaryQuery
from ingest_api.live.hub import LiveHub, Subscription
from ingest_api.middleware import deny

router = APIRouter()

POLICY_VIOLATION = 1008


class InvalidParameter(ValueError):
    pass


def subscription_from(params: QueryParams) -> Subscription:
    """The parameters of GET /api/metrics/summary, validated by the same model."""
    try:
        query = SummaryQuery.model_validate(dict(params))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "query"
        raise InvalidParameter(f"{field}: {error['msg']}, not {error['input']!r}") from None
    return Subscription(minutes=query.minutes, pipeline=query.pipeline, branch=query.branch)


@router.websocket("/ws/metrics")
async def metrics_socket(websocket: WebSocket) -> None:
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in websocket.app.state.settings.cors_origins:
        # Closing before accepting refuses the handshake: the browser sees a 403.
        await websocket.close(POLICY_VIOLATION)
        return
    # A cap per client address, so one host cannot hold every socket the process can open.
    address = websocket.client.host if websocket.client else "unknown"
    open_by_address: Counter[str] = websocket.app.state.live_by_address
    limit = websocket.app.state.settings.ws_max_per_address
    if open_by_address[address] >= limit:
        await deny(websocket, RateLimited(f"this address holds {limit} live connections already"))
        return
    open_by_address[address] += 1
    try:
        await websocket.accept()
        try:
            subscription = subscription_from(websocket.query_params)
        except InvalidParameter as exc:
            # A close reason holds at most 123 bytes of UTF-8 (RFC 6455); cut at 120 characters,
            # a name of "¡"s dropped the socket with no close frame (1006), as fuzzing found.
            reason = str(exc).encode()[:123].decode(errors="ignore")
            await websocket.close(POLICY_VIOLATION, reason)
            return
        hub: LiveHub = websocket.app.state.live
        await hub.serve(websocket, subscription)
    finally:
        open_by_address[address] -= 1
        if not open_by_address[address]:
            del open_by_address[address]
