"""GET /api/alerts: what the database decided to tell, and whether the mail went out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

import analytics
from analytics.alerts import AlertOut
from ingest_api.db import SessionDep
from ingest_api.errors import ValidationFailed, documented
from ingest_api.filters import PipelineFilter

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("", responses=documented({422: "Invalid parameter."}))
def list_alerts(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    pipeline: PipelineFilter = None,
    before: Annotated[
        str | None, Query(description="Cursor from a previous page's X-Next-Cursor header.")
    ] = None,
) -> list[AlertOut]:
    """Alerts, newest first, with their delivery: state (pending, sent, failed, skipped),
    attempts and the last error. The next page's cursor is in the X-Next-Cursor and Link
    headers."""
    try:
        cursor = analytics.AlertCursor.decode(before) if before else None
    except analytics.InvalidCursor:
        raise ValidationFailed.field("before", "not a cursor from X-Next-Cursor") from None
    page, next_cursor = analytics.alerts(
        session, limit=limit, pipeline=pipeline or None, before=cursor
    )
    if next_cursor is not None:
        token = next_cursor.encode()
        response.headers["X-Next-Cursor"] = token
        response.headers["Link"] = f'<{request.url.include_query_params(before=token)}>; rel="next"'
    return page
