"""analytics.summary and analytics.health over sql/functions: given rows, expected figures."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import analytics
from analytics.models import Totals
from tests import reference
from tests.factories import ingest

STATUSES = ["success", "failure", "cancelled", "skipped", "running"]


def db_now(session: Session) -> datetime:
    value = session.execute(text("select now()")).scalar_one()
    assert isinstance(value, datetime)
    return value


def stored_runs(session: Session) -> list[reference.StoredRun]:
    rows = session.execute(
        text(
            "select runs.id, pipelines.name as pipeline, status::text as status, started_at,"
            " finished_at, duration_sec, branch from runs join pipelines on pipelines.id ="
            " runs.pipeline_id"
        )
    ).mappings()
    return [reference.StoredRun(**row) for row in rows]


# The bound the OpenAPI text states for p50/p95 read from the rollups' histograms (1.96 %, plus
# 0.5 ms as durations are binned in whole milliseconds), plus the 3-decimal rounding of both
# the estimate and the reference.
RELATIVE_BOUND = 0.0196
ABSOLUTE_BOUND = 0.0005 + 2 * 0.0005


def within_bound(got: float | None, exact: float | None) -> bool:
    if got is None or exact is None:
        return got is exact
    return abs(got - exact) <= RELATIVE_BOUND * exact + ABSOLUTE_BOUND


def assert_matches(got: Totals, expected: dict[str, object], *, sketch: bool = True) -> None:
    """Counts, rates, averages and last result exact; percentiles exact, or within the bound
    when they come from the histograms (`sketch`)."""
    estimates = {"p50_duration_sec", "p95_duration_sec"} if sketch else set()
    exact = {k: v for k, v in expected.items() if k not in estimates}
    assert got.model_dump(include=set(exact)) == exact
    for key in estimates:
        value = expected[key]
        assert within_bound(getattr(got, key), value if isinstance(value, float) else None), (
            key,
            getattr(got, key),
            value,
        )


class TestSummaryGivenExpect:
    def test_empty_database(self, session: Session) -> None:
        result = analytics.summary(session, minutes=60)
        assert result.total == 0
        assert result.success_rate is None
        assert result.avg_duration_sec is None
        assert result.last_status is None
        assert result.per_pipeline == []
        assert result.window_minutes == 60
        assert result.as_of == db_now(session)

    def test_seed_example(self, session: Session) -> None:
        now = db_now(session)
        ingest(session, pipeline="web", started_at=now - timedelta(seconds=10), duration_sec=7)
        ingest(
            session,
            pipeline="web",
            status="failure",
            started_at=now - timedelta(seconds=5),
            duration_sec=2,
        )
        ingest(session, pipeline="api", status="running", started_at=now - timedelta(seconds=1))
        ingest(
            session,
            pipeline="api",
            status="cancelled",
            started_at=now - timedelta(seconds=3),
            duration_sec=1,
        )
        result = analytics.summary(session, minutes=1440)
        assert (
            result.total,
            result.success,
            result.failure,
            result.running,
            result.cancelled,
            result.skipped,
        ) == (4, 1, 1, 1, 1, 0)
        assert result.success_rate == 0.5
        assert result.avg_duration_sec == 4.5
        # A small window is read whole: exact percentiles.
        assert (result.p50_duration_sec, result.p95_duration_sec) == (4.5, 6.75)
        sketched = analytics.summary(session, minutes=1440, exact_up_to=0)
        assert within_bound(sketched.p50_duration_sec, 4.5)
        assert within_bound(sketched.p95_duration_sec, 6.75)
        assert sketched.p95_duration_sec != 6.75  # the histogram path did answer
        assert result.last_status == "failure"
        assert result.last_finished_at == now - timedelta(seconds=3)
        assert [p.pipeline for p in result.per_pipeline] == ["api", "web"]
        api, web = result.per_pipeline
        assert (api.total, api.success_rate, api.last_status, api.avg_duration_sec) == (
            2,
            None,
            None,
            None,
        )
        assert api.health.state == "unknown"
        assert (web.total, web.success_rate) == (2, 0.5)
        assert web.health.state == "failing"
        assert web.health.failure_streak == 1

    def test_window_edges(self, session: Session) -> None:
        now = db_now(session)
        ingest(session, started_at=now - timedelta(minutes=60), duration_sec=1)  # excluded
        ingest(session, started_at=now - timedelta(minutes=59, seconds=59), duration_sec=1)
        ingest(session, started_at=now, finished_at=now)  # included: started_at <= now
        ingest(
            session, started_at=now + timedelta(seconds=30), finished_at=now + timedelta(seconds=31)
        )  # starts after now: excluded
        assert analytics.summary(session, minutes=60).total == 2

    def test_filters(self, session: Session) -> None:
        now = db_now(session)
        for pipeline, branch in [("web", "main"), ("web", "dev"), ("api", "main")]:
            ingest(
                session,
                pipeline=pipeline,
                branch=branch,
                started_at=now - timedelta(minutes=1),
                duration_sec=1,
            )
        assert analytics.summary(session, pipeline="web").total == 2
        assert analytics.summary(session, branch="main").total == 2
        only = analytics.summary(session, pipeline="web", branch="dev")
        assert only.total == 1
        assert [p.pipeline for p in only.per_pipeline] == ["web"]
        assert analytics.summary(session, pipeline="nope").total == 0

    def test_rounding(self, session: Session) -> None:
        now = db_now(session)
        for status in ["success", "success", "failure"]:
            ingest(
                session, status=status, started_at=now - timedelta(minutes=1), duration_sec=1.00049
            )
        result = analytics.summary(session)
        assert result.success_rate == 0.6667
        assert result.avg_duration_sec == 1.0


class TestHealthGivenExpect:
    def test_streak_and_time_to_green(self, session: Session) -> None:
        now = db_now(session)
        t = now - timedelta(hours=2)
        # success, failure, failure, cancelled (ignored), success, failure, failure
        plan = [
            ("success", 0),
            ("failure", 10),
            ("failure", 20),
            ("cancelled", 25),
            ("success", 40),
            ("failure", 50),
            ("failure", 60),
        ]
        for status, minute in plan:
            ingest(
                session, status=status, finished_at=t + timedelta(minutes=minute), duration_sec=30
            )
        health = analytics.health(session, window_minutes=1440)["web"]
        assert health.state == "failing"
        assert health.failure_streak == 2
        assert health.failing_since == t + timedelta(minutes=50)
        assert health.last_success_at == t + timedelta(minutes=40)
        assert health.last_failure_at == t + timedelta(minutes=60)
        # One episode recovered: first failure at +10, green at +40.
        assert health.mean_time_to_green_sec == 1800.0
        # A window that ends before the recovery counts none.
        assert analytics.health(session, window_minutes=30)["web"].mean_time_to_green_sec is None

    def test_time_to_green_over_windows_and_a_late_correction(self, session: Session) -> None:
        now = db_now(session)
        # Episodes red for 10, 20 and 30 minutes, recovered 3 days, 90 and 10 minutes ago.
        for ago, red in ((3 * 1440, 10), (90, 20), (10, 30)):
            ingest(
                session,
                status="failure",
                finished_at=now - timedelta(minutes=ago + red),
                duration_sec=5,
            )
            ingest(
                session,
                status="success",
                finished_at=now - timedelta(minutes=ago),
                duration_sec=5,
                external_id=f"green-{ago}",
            )

        def mean(minutes: int | None) -> float | None:
            return analytics.health(session, window_minutes=minutes)["web"].mean_time_to_green_sec

        assert mean(5) is None
        assert mean(11) == 1800.0
        assert mean(89) == 1800.0  # the recovery 90 minutes ago lies on the window's open edge
        assert mean(91) == 1500.0
        assert mean(4319) == 1500.0
        assert mean(4321) == 1200.0
        assert mean(None) == 1200.0

        # The recovery of 3 days ago was a failure after all: its episode now runs on to the
        # success of 90 minutes ago (red since 3 days and 10 minutes ago).
        ingest(
            session,
            status="failure",
            finished_at=now - timedelta(minutes=3 * 1440),
            duration_sec=5,
            external_id=f"green-{3 * 1440}",
        )
        long_red = (3 * 1440 + 10 - 90) * 60.0
        assert mean(91) == (long_red + 1800) / 2
        assert mean(None) == (long_red + 1800) / 2
        assert mean(89) == 1800.0

    def test_branch_health(self, session: Session) -> None:
        now = db_now(session)
        ingest(session, branch="main", status="success", finished_at=now - timedelta(minutes=2))
        ingest(session, branch="dev", status="failure", finished_at=now - timedelta(minutes=1))
        assert analytics.health(session)["web"].state == "failing"
        assert analytics.health(session, branch="main")["web"].state == "passing"


class TestAgainstReference:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    @pytest.mark.parametrize("exact_up_to", [0, 100_000], ids=["sketch", "exact"])
    def test_random_runs(self, session: Session, seed: int, exact_up_to: int) -> None:
        rng = random.Random(seed)
        now = db_now(session)
        for _ in range(300):
            status = rng.choice(STATUSES)
            started = now - timedelta(minutes=rng.uniform(0, 3000))
            fields = {
                "pipeline": rng.choice(["web", "api", "docs"]),
                "branch": rng.choice(["main", "dev"]),
                "status": status,
                "started_at": started,
            }
            if status != "running":
                duration = round(rng.lognormvariate(4, 0.7), 3)
                fields["duration_sec"] = (
                    0.5 if started + timedelta(seconds=duration) > now else duration
                )
            ingest(session, **fields)
        runs = stored_runs(session)
        for minutes in (60, 720, 1440, 1740, 2100, 4320):
            for pipeline in (None, "web"):
                for branch in (None, "dev"):
                    scope = [
                        r
                        for r in runs
                        if (pipeline is None or r.pipeline == pipeline)
                        and (branch is None or r.branch == branch)
                    ]
                    window = reference.in_window(scope, now, minutes)
                    got = analytics.summary(
                        session,
                        minutes=minutes,
                        pipeline=pipeline,
                        branch=branch,
                        exact_up_to=exact_up_to,
                    )
                    assert_matches(got, reference.totals(window), sketch=exact_up_to == 0)
                    for entry in got.per_pipeline:
                        mine = [r for r in window if r.pipeline == entry.pipeline]
                        assert_matches(entry, reference.totals(mine), sketch=exact_up_to == 0)
                        expected_health = reference.health(
                            [r for r in scope if r.pipeline == entry.pipeline], now, minutes
                        )
                        assert entry.health.model_dump() == expected_health
