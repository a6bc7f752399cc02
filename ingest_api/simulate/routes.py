"""POST /api/simulate: demo data, open in demo mode only."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from ingest_api.db import SessionDep
from ingest_api.errors import Forbidden, RateLimited, documented
from ingest_api.simulate import service
from ingest_api.simulate.schemas import SimulateOut, SimulateRequest

router = APIRouter(prefix="/api/simulate", tags=["demo"])

# One simulation at a time per process: a second caller is told to wait, not queued.
_running = threading.Lock()


@router.post(
    "",
    responses=documented(
        {
            403: "Demo mode is off (PULSE_DEMO=true turns it on).",
            422: "Invalid parameter or body.",
            429: "A simulation is already running.",
        }
    ),
)
def simulate(
    request: Request,
    session: SessionDep,
    count: Annotated[int, Query(ge=1, le=10_000)] = 10,
    fail_rate: Annotated[float, Query(ge=0, le=1)] = 0.25,
    hours: Annotated[
        float, Query(gt=0, le=8760, description="Spread runs over this many past hours.")
    ] = 24,
    body: Annotated[SimulateRequest | None, Body()] = None,
) -> SimulateOut:
    """Seed demo runs (source "simulator") through the ingest path. Demo mode only; no token."""
    if not request.app.state.settings.demo:
        raise Forbidden("the simulator is open in demo mode only: set PULSE_DEMO=true")
    if not _running.acquire(blocking=False):
        raise RateLimited("a simulation is already running; try again when it ends")
    try:
        pipelines = (body or SimulateRequest()).pipelines
        created = service.simulate(
            session, pipelines, count=count, fail_rate=fail_rate, hours=hours
        )
    finally:
        _running.release()
    return SimulateOut(created=created, pipelines=pipelines)
