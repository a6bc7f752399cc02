"""WS /ws/metrics: the summary, live."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.datastructures import QueryParams

from ingest_api.live.hub import LiveHub, Subscription
from ingest_api.metrics.routes import MAX_WINDOW_MINUTES

router = APIRouter()

POLICY_VIOLATION = 1008


class InvalidParameter(ValueError):
    pass


def subscription_from(params: QueryParams) -> Subscription:
    """The same parameters as GET /api/metrics/summary; an empty value means no filter."""
    raw = params.get("minutes") or "1440"
    try:
        minutes = int(raw)
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise InvalidParameter(f"minutes: an integer from 1 to {MAX_WINDOW_MINUTES}, not {raw!r}")
    return Subscription(
        minutes=minutes,
        pipeline=params.get("pipeline") or None,
        branch=params.get("branch") or None,
    )


@router.websocket("/ws/metrics")
async def metrics_socket(websocket: WebSocket) -> None:
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in websocket.app.state.settings.cors_origins:
        # Closing before accepting refuses the handshake: the browser sees a 403.
        await websocket.close(POLICY_VIOLATION)
        return
    await websocket.accept()
    try:
        subscription = subscription_from(websocket.query_params)
    except InvalidParameter as exc:
        await websocket.close(POLICY_VIOLATION, str(exc)[:120])
        return
    hub: LiveHub = websocket.app.state.live
    await hub.serve(websocket, subscription)
