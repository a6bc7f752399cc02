"""Streamlit page cost: each page rendered through AppTest, and its data calls alone.

On the history of bench/summary.py (`--size` runs: 200 pipelines, a year; loaded into a scratch
embedded server, or into `--database-url` when it has no runs yet), for the last 30 days and the
last year, all pipelines and one (pipeline-007), the median of `--repeat` cold renders (the
Streamlit caches cleared first, so every query runs) and of the same analytics calls without
Streamlit. Prints one table and the goal (a page in <= 2 s).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import streamlit as st
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from analytics import trends
from analytics.history import health_table
from bench.summary import _size, load
from ingest_api import migrate
from ingest_api.db import make_engine
from ingest_api.embedded_pg import EmbeddedPostgres

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
PIPELINE = "pipeline-007"
GOAL_MS = 2000.0

# What each page asks analytics for, as the page does.
PAGES: dict[str, Callable[[Session, trends.Scope], object]] = {
    "trends": lambda s, scope: (
        trends.filter_options(s, scope),
        trends.range_totals(s, replace(scope, start=scope.end - timedelta(days=6))),
        trends.range_totals(
            s, replace(scope, start=scope.end - timedelta(13), end=scope.end - timedelta(7))
        ),
        trends.period_trends(s, scope),
    ),
    "reliability": lambda s, scope: (
        health_table(s),
        trends.time_to_green(s, scope),
        trends.period_counts(s, scope),
        trends.flaky_commits(s, scope),
    ),
    "time": lambda s, scope: (
        top := trends.slowest_pipelines(s, scope),
        trends.period_counts(
            s, replace(scope, pipelines=tuple(top["pipeline"].head(5))), per_pipeline=True
        ),
        trends.job_times(s, scope),
        trends.slowest_steps(s, scope),
    ),
    "breakages": lambda s, scope: (
        trends.failure_heatmap(s, scope),
        trends.failures_by(s, scope, "branch"),
        trends.failures_by(s, scope, "triggered_by"),
    ),
    "runs": lambda s, scope: trends.run_list(s, scope),
}


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def render_ms(page: str, query: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        # The first run of an AppTest scans every installed package for Streamlit components
        # (~0.9 s here), which a server does once at start-up: every page, the default one
        # included, is timed on a later run, with the caches cleared again.
        at.run()
        st.cache_data.clear()
        if page != "trends":
            at.switch_page(f"app_pages/{page}.py")
        started = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - started) * 1000)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="runs to load: 1m, 10m or a count")
    parser.add_argument("--repeat", type=int, default=3, help="renders per measurement")
    parser.add_argument(
        "--database-url", help="measure this database (loaded only if it has no runs yet)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Pages run without a server here, which Streamlit warns about on every run.
    logging.disable(logging.WARNING)

    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-streamlit-"))
    server = None if args.database_url else EmbeddedPostgres(scratch / "data")
    try:
        url = server.start() if server else args.database_url
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            existing = conn.execute("select count(*) from runs").fetchone()
            count = existing[0] if existing and existing[0] else _size(args.size)
            loaded = "an existing history"
            if not (existing and existing[0]):
                load_s, rebuild_s, history_s = load(conn, count)
                loaded = (
                    f"load {load_s:.1f} s, rebuild_rollups {rebuild_s:.1f} s, "
                    f"full history {history_s:.1f} s"
                )
        os.environ["DATABASE_URL"] = url
        engine = make_engine(url, pool_size=1)
        today = datetime.now(UTC).date()
        print(f"Streamlit pages: {count:,} runs, 200 pipelines, a year; {loaded}")
        print(f"cold caches; median of {args.repeat}; {os.cpu_count()} cores\n")
        header = f"{'page':<12} | {'days':>4} | {'pipelines':<12} | {'data ms':>8} | {'page ms':>8}"
        print(header)
        print("-" * len(header))
        worst = 0.0
        for days in (30, 365):
            start = today - timedelta(days=days - 1)
            for pipelines in ((), (PIPELINE,)):
                scope = trends.Scope(start, today, pipelines)
                query = {"from": start.isoformat(), "to": today.isoformat()}
                if pipelines:
                    query["pipeline"] = pipelines[0]
                for page, calls in PAGES.items():
                    with Session(engine) as session:
                        data_ms = _median_ms(lambda: calls(session, scope), args.repeat)  # noqa: B023
                    page_ms = render_ms(page, query, args.repeat)
                    worst = max(worst, page_ms)
                    shown = pipelines[0] if pipelines else "all"
                    print(
                        f"{page:<12} | {days:>4} | {shown:<12} | {data_ms:>8.0f} | {page_ms:>8.0f}"
                    )
        engine.dispose()
        print(
            f"\nslowest page {worst:.0f} ms; a page <= {GOAL_MS:.0f} ms: "
            f"{'PASS' if worst <= GOAL_MS else 'FAIL'}"
        )
    finally:
        st.cache_resource.clear()
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
