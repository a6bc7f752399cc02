"""The app's one database engine and its cached reads, all through `analytics`.

Reads are cached for 30 s: shorter than the worker's history refresh (PULSE_HISTORY_REFRESH_SEC,
60 s by default), so a page is never more than one refresh behind, while a viewer who changes
pages or filters back and forth does not run the same queries again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session

from analytics import lenient, trends
from analytics.history import health_table
from analytics.trends import DataState, Dimension, Grain, Scope

TTL_SEC = 30
T = TypeVar("T")


class NoDatabase(RuntimeError):
    """DATABASE_URL is not set (`pulse streamlit` sets it)."""


def _dispose(built: Engine) -> None:
    built.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def engine() -> Engine:
    """One engine (and pool) per process, shared by every viewer's session."""
    raw = os.environ.get("DATABASE_URL")
    if not raw:
        raise NoDatabase("DATABASE_URL is not set: start the app with `pulse streamlit`.")
    url = make_url(raw.replace("postgres://", "postgresql://", 1))
    if url.drivername in {"postgresql", "postgresql+psycopg2"}:
        url = url.set(drivername="postgresql+psycopg")
    built = create_engine(
        url,
        pool_size=4,
        max_overflow=4,
        pool_pre_ping=True,
        # As the API's engine (ingest_api/db.py), for the same reasons: timestamps in UTC, no
        # JIT for short queries, a custom plan per call; and a down database fails in seconds.
        connect_args={
            "options": "-c timezone=UTC -c jit=off -c plan_cache_mode=force_custom_plan",
            "application_name": "pipeline-pulse-streamlit",
            "connect_timeout": 5,
        },
    )
    event.listen(built, "connect", lambda connection, _record: lenient.register(connection))
    return built


def _read(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    with Session(engine()) as session:
        return call(session, *args, **kwargs)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def state() -> DataState:
    return _read(trends.data_state)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def filter_options(scope: Scope) -> pd.DataFrame:
    return _read(trends.filter_options, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def period_trends(scope: Scope, grain: Grain, per_pipeline: bool) -> pd.DataFrame:
    return _read(trends.period_trends, scope, grain=grain, per_pipeline=per_pipeline)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def period_counts(scope: Scope, grain: Grain, per_pipeline: bool) -> pd.DataFrame:
    return _read(trends.period_counts, scope, grain=grain, per_pipeline=per_pipeline)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def range_totals(scope: Scope) -> dict[str, float | None]:
    return _read(trends.range_totals, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def health() -> pd.DataFrame:
    return _read(health_table)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def time_to_green(scope: Scope) -> trends.TimeToGreen:
    return _read(trends.time_to_green, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def flaky_commits(scope: Scope) -> pd.DataFrame:
    return _read(trends.flaky_commits, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def slowest_pipelines(scope: Scope) -> pd.DataFrame:
    return _read(trends.slowest_pipelines, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def job_times(scope: Scope) -> pd.DataFrame:
    return _read(trends.job_times, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def slowest_steps(scope: Scope) -> pd.DataFrame:
    return _read(trends.slowest_steps, scope)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def failure_heatmap(scope: Scope, offset_min: int) -> pd.DataFrame:
    return _read(trends.failure_heatmap, scope, offset_min=offset_min)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def failures_by(scope: Scope, dimension: Dimension) -> pd.DataFrame:
    return _read(trends.failures_by, scope, dimension)


@st.cache_data(ttl=TTL_SEC, show_spinner=False)
def run_list(
    scope: Scope, statuses: tuple[str, ...], triggered_by: str | None, commit: str | None
) -> pd.DataFrame:
    return _read(
        trends.run_list, scope, statuses=statuses, triggered_by=triggered_by, commit=commit
    )
