"""POST /api/events/run and GET /api/runs."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response

import analytics
from analytics.models import JobOut, RunOut, RunStatus
from ingest_api.auth import IngestAuth
from ingest_api.db import SessionDep
from ingest_api.errors import RATE_LIMITED, NotFound, ValidationFailed, documented
from ingest_api.filters import BranchFilter, PipelineFilter
from ingest_api.middleware import MAX_BODY_BYTES
from ingest_api.runs import service
from ingest_api.runs.schemas import RunEvent

events = APIRouter(prefix="/api/events", tags=["ingest"])
router = APIRouter(prefix="/api/runs", tags=["runs"])

IGNORED_FIELDS_HEADER = "X-Pulse-Ignored-Fields"
# A header names at most this many ignored fields, each cut to this length (URL-encoded, so a
# name in any script travels in a header).
_IGNORED_SHOWN, _IGNORED_NAME_CHARS = 20, 64


def ignored_fields_header(names: list[str]) -> str:
    shown = [quote(name[:_IGNORED_NAME_CHARS], safe="") for name in names[:_IGNORED_SHOWN]]
    return ", ".join(shown) + (", ..." if len(names) > _IGNORED_SHOWN else "")


@events.post(
    "/run",
    dependencies=[IngestAuth],
    responses=documented(
        {
            401: "Missing or wrong token, or none configured.",
            409: "The (source, external_id) key names a run of another pipeline.",
            413: f"Body over {MAX_BODY_BYTES // 1024 // 1024} MiB.",
            422: "Invalid event; nothing was written.",
            429: RATE_LIMITED,
        }
    ),
)
async def ingest_run(event: RunEvent, request: Request, response: Response) -> RunOut:
    """Record a run, or update the run its (source, external_id) names.

    A repeat with the same key: running → finished completes the run (fields left out keep
    their stored values); a running event for a finished run is ignored (late delivery);
    between two results the one with the later finished_at wins (a correction); an identical
    repeat changes nothing. Answers 200 with the stored run whether it created or updated it.
    Fields a run does not have are ignored and named, URL-encoded and comma-separated, in the
    X-Pulse-Ignored-Fields header (e.g. `duration` for `duration_sec`).
    """
    run = await service.ingest_async(request.app.state.write_pool, event)
    if event.ignored_fields:
        response.headers[IGNORED_FIELDS_HEADER] = ignored_fields_header(event.ignored_fields)
    return run


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


@router.delete(
    "/{run_id}",
    dependencies=[IngestAuth],
    responses=documented(
        {
            401: "Missing or wrong token, or none configured.",
            404: "No run has this id.",
            422: "The id is not a positive integer.",
            429: RATE_LIMITED,
        }
    ),
)
def delete_run(session: SessionDep, run_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> RunOut:
    """Remove a run; answers the run removed. The rollups, health, daily history and live
    dashboards follow (a `runs_deleted` message names it on WS /ws/metrics)."""
    removed = service.delete_run(session, run_id)
    if removed is None:
        raise NotFound(f"no run has id {run_id}")
    return removed


@router.get(
    "/{run_id}/jobs",
    responses=documented({404: "No run has this id.", 422: "The id is not a positive integer."}),
)
def run_jobs(session: SessionDep, run_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> list[JobOut]:
    """The jobs of a GitHub run (from workflow_job deliveries), in the order they started:
    runner, queue time (started - created), duration and steps. Runs that did not come from
    the webhook have none."""
    jobs = analytics.run_jobs(session, run_id)
    if jobs is None:
        raise NotFound(f"no run has id {run_id}")
    return jobs
