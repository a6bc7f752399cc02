"""GET /api/metrics/summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

import analytics
from analytics.models import EXACT_PERCENTILES_UP_TO, Summary
from ingest_api.db import SessionDep
from ingest_api.errors import documented
from ingest_api.filters import SummaryQuery

router = APIRouter(prefix="/api/metrics", tags=["metrics"])


@router.get(
    "/summary",
    responses=documented({422: "Invalid parameter."}),
    summary="Summary",
    description=f"""Figures for runs with now - minutes < started_at <= now, overall and per
pipeline, each pipeline with its all-time health (per branch when a branch filter is given).

Read from rollup tables the database keeps exact in the writing transaction, so the cost does
not grow with history. Counts, rates, averages and last_* are exact. p50/p95 are exact
(percentile_cont) when the window holds at most {EXACT_PERCENTILES_UP_TO:,} runs; in larger
windows they are estimated from merged duration histograms and lie within 1.96 % + 0.5 ms of
percentile_cont's value (the histograms record durations in whole milliseconds). Rates are
rounded to 4 decimals, seconds to 3.""",
)
def summary(session: SessionDep, query: Annotated[SummaryQuery, Query()]) -> Summary:
    return analytics.summary(
        session, minutes=query.minutes, pipeline=query.pipeline, branch=query.branch
    )
