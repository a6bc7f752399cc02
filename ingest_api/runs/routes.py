"""POST /api/events/run and GET /api/runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

import analytics
from analytics.models import RunOut
from ingest_api.auth import IngestAuth
from ingest_api.db import SessionDep
from ingest_api.errors import ValidationFailed, documented
from ingest_api.filters import BranchFilter, PipelineFilter
from ingest_api.models import RunStatus
from ingest_api.runs import service
from ingest_api.runs.schemas import RunEvent

events = APIRouter(prefix="/api/events", tags=["ingest"])
router = APIRouter(prefix="/api/runs", tags=["runs"])


@events.post(
    "/run",
    dependencies=[IngestAuth],
    responses=documented(
        {
            401: "Missing or wrong token, or none configured.",
            409: "The (source, external_id) key names a run of another pipeline.",
            413: "Body over 1 MiB.",
            422: "Invalid event; nothing was written.",
        }
    ),
)
async def ingest_run(event: RunEvent, request: Request) -> RunOut:
    """Record a run, or update the run its (source, external_id) names.

    A repeat with the same key: running → finished completes the run (fields left out keep
    their stored values); a running event for a finished run is ignored (late delivery);
    between two results the one with the later finished_at wins (a correction); an identical
    repeat changes nothing. Answers 200 with the stored run whether it created or updated it.
    """
    return await service.ingest_async(request.app.state.write_pool, event)


@router.get("", responses=documented({422: "Invalid parameter."}))
def list_runs(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    pipeline: PipelineFilter = None,
    branch: BranchFilter = None,
    status: RunStatus | None = None,
    before: Annotated[
        str | None, Query(description="Cursor from a previous page's X-Next-Cursor header.")
    ] = None,
) -> list[RunOut]:
    """Recent runs, newest started_at first (ties by id); the next page's cursor is in the
    X-Next-Cursor and Link headers."""
    try:
        cursor = analytics.Cursor.decode(before) if before else None
    except analytics.InvalidCursor:
        raise ValidationFailed.field("before", "not a cursor from X-Next-Cursor") from None
    page, next_cursor = analytics.runs(
        session,
        limit=limit,
        pipeline=pipeline or None,
        branch=branch or None,
        status=status,
        before=cursor,
    )
    if next_cursor is not None:
        token = next_cursor.encode()
        response.headers["X-Next-Cursor"] = token
        response.headers["Link"] = f'<{request.url.include_query_params(before=token)}>; rel="next"'
    return page
