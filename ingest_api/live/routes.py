"""WS /ws/metrics: the summary, live."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from ingest_api.filters import SummaryQuery
from ingest_api.live.hub import LiveHub, Subscription

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
    await websocket.accept()
    try:
        subscription = subscription_from(websocket.query_params)
    except InvalidParameter as exc:
        await websocket.close(POLICY_VIOLATION, str(exc)[:120])
        return
    hub: LiveHub = websocket.app.state.live
    await hub.serve(websocket, subscription)
