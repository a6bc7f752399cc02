"""Rollups under concurrent writers: exact totals, no deadlock, and a property test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import analytics
from ingest_api.db import make_engine
from tests import reference
from tests.factories import ingest
from tests.rollup_checks import assert_rollups_exact
from tests.sql.test_summary import assert_matches, stored_runs


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, pool_size=10)
    yield engine
    engine.dispose()


def write_concurrently(engine: Engine, batches: list[list[dict[str, Any]]]) -> int:
    """Each batch on its own connection, one transaction per event; returns rejections."""
    factory = sessionmaker(engine)
    rejected: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(batches))

    def work(batch: list[dict[str, Any]]) -> None:
        start.wait()
        for event in batch:
            try:
                with factory.begin() as session:
                    ingest(session, **event)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in {"PP422", "PP409"}:
                    errors.append(exc)  # deadlocks and the like fail the test
                rejected.append(1)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    return len(rejected)


class TestConcurrentWriters:
    def test_eight_writers_one_pipeline_one_minute(self, engine: Engine) -> None:
        with Session(engine) as session:
            now = session.execute(text("select now()")).scalar_one()
        minute = now.replace(second=0, microsecond=0) - timedelta(minutes=2)
        batches = [
            [
                {
                    "status": "running",
                    "started_at": minute + timedelta(seconds=s),
                    "external_id": f"{w}-{i}",
                }
                if i % 3 == 0
                else {
                    "status": ["success", "failure"][i % 2],
                    "started_at": minute + timedelta(seconds=(w * 7 + i) % 60),
                    "duration_sec": 1 + i % 5,
                    "external_id": f"{w}-{i - i % 3}",
                }
                for i, s in ((i, (w + i) % 60) for i in range(60))
            ]
            for w in range(8)
        ]
        assert write_concurrently(engine, batches) == 0
        with Session(engine) as session, session.begin():
            summary = analytics.summary(session, minutes=60)
            runs = stored_runs(session)
            assert summary.total == len(runs) == 8 * 20  # 60 events a writer, 20 runs
            assert_matches(summary, reference.totals(reference.in_window(runs, summary.as_of, 60)))
            assert_rollups_exact(session)


EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "pipeline": st.sampled_from(["web", "api", "docs"]),
            "branch": st.sampled_from(["main", "dev"]),
            "status": st.sampled_from(["running", "success", "failure", "cancelled", "skipped"]),
            "minutes_ago": st.floats(0.5, 3 * 1440),
            "duration_sec": st.floats(0, 900),
            "external_id": st.one_of(st.none(), st.integers(0, 12).map(str)),
        }
    ),
    min_size=1,
    max_size=60,
)


def _as_event(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    event = {k: v for k, v in raw.items() if k != "minutes_ago"}
    finish = now - timedelta(minutes=raw["minutes_ago"])
    if raw["status"] == "running":
        event.pop("duration_sec")
        event["started_at"] = finish
    else:
        event["finished_at"] = finish
    return event


class TestRollupsMatchGroupBy:
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(events=EVENTS, writers=st.integers(1, 4), exact_up_to=st.sampled_from([0, 10_000]))
    def test_random_concurrent_histories(
        self, engine: Engine, events: list[dict[str, Any]], writers: int, exact_up_to: int
    ) -> None:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "truncate runs, pipelines, pipeline_hour_totals, branch_hour_totals,"
                    " recoveries, recovery_totals restart identity cascade"
                )
            )
            now = conn.execute(text("select now()")).scalar_one()
        # Repeats of a key (identical, late, corrected) land on different writers.
        batches = [[_as_event(e, now) for e in events[i::writers]] for i in range(writers)]
        write_concurrently(engine, batches)
        with Session(engine) as session, session.begin():
            runs = stored_runs(session)
            # Lengths a few hours apart open at different times of day: partial days of
            # every size, with and without whole days between them.
            for minutes in (30, 90, 1440, 1740, 2100, 2 * 1440, 525600):
                for pipeline in (None, "web"):
                    for branch in (None, "dev"):
                        got = analytics.summary(
                            session,
                            minutes=minutes,
                            pipeline=pipeline,
                            branch=branch,
                            exact_up_to=exact_up_to,
                        )
                        scope = [
                            r
                            for r in runs
                            if (pipeline is None or r.pipeline == pipeline)
                            and (branch is None or r.branch == branch)
                        ]
                        window = reference.in_window(scope, got.as_of, minutes)
                        assert_matches(got, reference.totals(window), sketch=exact_up_to == 0)
                        for entry in got.per_pipeline:
                            mine = [r for r in window if r.pipeline == entry.pipeline]
                            assert_matches(entry, reference.totals(mine), sketch=exact_up_to == 0)
                            assert entry.health.model_dump() == reference.health(
                                [r for r in scope if r.pipeline == entry.pipeline],
                                got.as_of,
                                minutes,
                            )
            assert_rollups_exact(session)
