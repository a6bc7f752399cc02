"""GET /api/metrics/summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import analytics
from analytics.models import EXACT_PERCENTILES_UP_TO, Summary
from ingest_api.errors import documented
from ingest_api.filters import SummaryQuery
from ingest_api.live.hub import LiveHub, Subscription

router = APIRouter(prefix="/api/metrics", tags=["metrics"])


@router.get(
    "/summary",
    responses=documented({422: "Invalid parameter."}),
    summary="Summary",
    response_model=Summary,
    description=f"""Figures for runs with now - minutes < started_at <= now, overall and per
pipeline, each pipeline with its all-time health (per branch when a branch filter is given).

Read from rollup tables the database keeps exact in the writing transaction, so the cost does
not grow with history. Each API process keeps the summaries asked for (and those watched on
/ws/metrics) for five minutes after the last ask and brings them up to date per request by
recomputing only the pipelines whose runs changed or that the window's edges passed since: a
repeated ask costs a few index probes (the first is computed afresh). Every answer holds every
run whose write was acknowledged before the request. Counts, rates, averages and last_* are
exact. p50/p95 are exact (percentile_cont) when the window holds at most
{EXACT_PERCENTILES_UP_TO:,} runs; in larger
windows they are estimated from merged duration histograms and lie within 1.96 % + 0.5 ms of
percentile_cont's value (the histograms record durations in whole milliseconds). Rates are
rounded to 4 decimals, seconds to 3.""",
)
async def summary(request: Request, query: Annotated[SummaryQuery, Query()]) -> Response:
    hub: LiveHub = request.app.state.live
    scope = Subscription(minutes=query.minutes, pipeline=query.pipeline, branch=query.branch)
    figures = await hub.summary_now(scope)
    if figures is not None:
        return Response(figures.payload_json, media_type="application/json")
    # Not listening (the database was lost): computed afresh, or the database's error.
    return await run_in_threadpool(_fresh, request.app.state.sessionmaker, scope)


def _fresh(sessions: sessionmaker[Session], scope: Subscription) -> Response:
    with sessions.begin() as session:
        figures = analytics.summary(
            session, minutes=scope.minutes, pipeline=scope.pipeline, branch=scope.branch
        )
    return Response(figures.model_dump_json(), media_type="application/json")
