"""POST /api/simulate: demo data, open in demo mode only."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from ingest_api.db import SessionDep
from ingest_api.errors import RATE_LIMITED, Forbidden, RateLimited, documented
from ingest_api.simulate import service
from ingest_api.simulate.schemas import SimulateOut, SimulateRequest

router = APIRouter(prefix="/api/simulate", tags=["demo"])

# One simulation at a time per process: a second caller is told to wait, not queued.
_running = threading.Lock()

# The request's work is bounded: each run is an ingest plus a rewrite of the running-total rows
# after its hour (at most `hours` of them), so up to 10,000 runs x 8,760 hours held a
# connection for minutes (the fuzzer's count=2116&hours=2038: 45 s). At these bounds, on the 2
# cores at load 14: 2 s on an empty history, 7-11 s over a dense one (300 runs x 240 h: 19 s).
# `pulse simulate` seeds longer histories, with a progress bar.
MAX_COUNT = 300
MAX_HOURS = 72


@router.post(
    "",
    responses=documented(
        {
            403: "Demo mode is off (PULSE_DEMO=true turns it on).",
            422: "Invalid parameter or body.",
            429: f"A simulation is already running. {RATE_LIMITED}",
        }
    ),
)
def simulate(
    request: Request,
    session: SessionDep,
    count: Annotated[
        int,
        Query(ge=1, le=MAX_COUNT, description="Runs to create; `pulse simulate` makes more."),
    ] = 10,
    fail_rate: Annotated[float, Query(ge=0, le=1)] = 0.25,
    hours: Annotated[
        float,
        Query(gt=0, le=MAX_HOURS, description="Spread runs over this many past hours."),
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
