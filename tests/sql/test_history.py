"""The daily history (sql/functions/refresh_history_v01.sql) and the reporting views (sql/views)."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

import analytics
from analytics.history import SQL_VIEWS, daily_trends, health_table
from ingest_api import worker
from ingest_api.db import make_engine
from tests.factories import ingest

D1 = date(2026, 10, 30)
D2 = date(2026, 10, 31)

FIGURES = (
    "total, success, failure, running, cancelled, skipped, success_rate, avg_duration_sec,"
    " p50_duration_sec, p95_duration_sec, recoveries, mean_time_to_green_sec"
)
# Each view's grain.
GRAINS = {
    "runs_staged": ("run_id",),
    "pipeline_health_current": ("pipeline",),
    "daily_pipeline_history": ("pipeline", "day"),
    "daily_branch_history": ("pipeline", "branch", "day"),
}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def refresh(session: Session | Connection, *, full: bool = False) -> dict[str, Any]:
    row = session.execute(text("select * from refresh_history(:full)"), {"full": full})
    return dict(row.mappings().one())


def daily(session: Session | Connection, view: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = GRAINS[view]
    query = f"select {', '.join(keys)}, {FIGURES} from {view}"
    rows = session.execute(text(query)).mappings()
    return {tuple(row[k] for k in keys): dict(row) for row in rows}


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name.strip()] for name in FIGURES.split(","))


def seed_example(session: Session) -> None:
    """web: main goes red on D1 and green again on D2; feat passes in between."""
    ingest(session, pipeline="web", started_at=at(D1, 10), duration_sec=60, branch="main")
    ingest(
        session,
        pipeline="web",
        status="failure",
        started_at=at(D1, 11),
        duration_sec=30,
        branch="main",
    )
    ingest(session, pipeline="web", started_at=at(D1, 12), duration_sec=90, branch="feat")
    ingest(session, pipeline="web", started_at=at(D2, 9), duration_sec=40, branch="main")
    ingest(
        session,
        pipeline="web",
        status="running",
        started_at=at(D2, 10),
        branch="main",
        external_id="r-1",
    )


class TestDailyHistory:
    def test_given_runs_expect_days(self, session: Session) -> None:
        seed_example(session)
        assert refresh(session) == {
            "refreshed": True,
            "pipeline_days": 2,
            "branch_days": 3,
            "pipelines": 1,
        }
        pipeline_days = daily(session, "daily_pipeline_history")
        # total, success, failure, running, cancelled, skipped, rate, avg, p50, p95,
        # recoveries, time to green: the pipeline turned green at D1 12:01:30 (feat's success)
        # after going red at D1 11:00:30.
        assert figures(pipeline_days["web", D1]) == (
            3, 2, 1, 0, 0, 0, 0.6667, 60.0, 60.0, 87.0, 1, 3660.0
        )  # fmt: skip
        assert figures(pipeline_days["web", D2]) == (
            2, 1, 0, 1, 0, 0, 1.0, 40.0, 40.0, 40.0, 0, None
        )  # fmt: skip
        branch_days = daily(session, "daily_branch_history")
        assert set(branch_days) == {("web", "main", D1), ("web", "feat", D1), ("web", "main", D2)}
        assert figures(branch_days["web", "main", D1]) == (
            2, 1, 1, 0, 0, 0, 0.5, 45.0, 45.0, 58.5, 0, None
        )  # fmt: skip
        assert figures(branch_days["web", "feat", D1])[:8] == (1, 1, 0, 0, 0, 0, 1.0, 90.0)
        # main itself went green on D2 09:00:40, 22 h 10 s after its failure.
        assert figures(branch_days["web", "main", D2]) == (
            2, 1, 0, 1, 0, 0, 1.0, 40.0, 40.0, 40.0, 1, 79210.0
        )  # fmt: skip

    def test_first_try_figures_where_attempts_are_recorded(self, session: Session) -> None:
        # Commit a fails on attempt 1 (D1) and passes when re-run (D2); commit b passes at once;
        # a run without an attempt (the API's) counts in neither figure.
        def run(commit: str, attempt: int | None, status: str, day: date, hour: int) -> None:
            fields: dict[str, Any] = {"attempt": attempt} if attempt is not None else {}
            ingest(
                session,
                pipeline="web",
                status=status,
                started_at=at(day, hour),
                duration_sec=60,
                commit=commit,
                **fields,
            )

        run("a", 1, "failure", D1, 10)
        run("b", 1, "success", D1, 11)
        run("c", None, "failure", D1, 12)
        run("a", 2, "success", D2, 9)
        refresh(session)
        got = {
            day: (rate, reruns)
            for day, rate, reruns in session.execute(
                text(
                    "select day, first_try_success_rate, rerun_recoveries"
                    " from daily_pipeline_history where pipeline = 'web'"
                )
            )
        }
        assert got == {D1: (0.5, 0), D2: (None, 1)}
        branch_row = session.execute(
            text(
                "select first_try_success_rate, rerun_recoveries from daily_branch_history"
                " where pipeline = 'web' and branch = 'main' and day = :day"
            ),
            {"day": D2},
        ).one()
        assert tuple(branch_row) == (None, 1)
        staged = session.execute(
            text("select attempt from runs_staged where commit_sha = 'a' order by attempt")
        ).scalars()
        assert list(staged) == [1, 2]

    def test_runs_staged(self, session: Session) -> None:
        run = ingest(
            session,
            pipeline="api",
            status="failure",
            started_at=at(D1, 23, 59),
            duration_sec=120,
            branch="dev",
            url="https://ci.example/1",
        )
        row = (
            session.execute(text("select * from runs_staged where run_id = :id"), {"id": run.id})
            .mappings()
            .one()
        )
        assert (row["pipeline"], row["branch"], row["status"]) == ("api", "dev", "failure")
        assert (row["is_decided"], row["is_success"], row["started_day"]) == (True, False, D1)
        assert (row["duration_sec"], row["url"]) == (120.0, "https://ci.example/1")
        assert row["finished_at"] == at(D2, 0, 1)

    def test_health_view_is_the_api_health_at_refresh(self, session: Session) -> None:
        seed_example(session)
        ingest(session, pipeline="api", status="failure", started_at=at(D2, 8), duration_sec=5)
        refresh(session)
        table = health_table(session).set_index("pipeline")
        for name, health in analytics.health(session).items():
            assert table.loc[name, "state"] == health.state
            assert table.loc[name, "failure_streak"] == health.failure_streak
        assert bool(table.loc["api", "is_failing"]) is True

    def test_grain_keys_unique_and_not_null(self, session: Session) -> None:
        generate_history(session, random.Random(7), runs=150)
        refresh(session)
        for view, keys in GRAINS.items():
            columns = ", ".join(keys)
            grouped = f"select {columns} from {view} group by {columns} having count(*) > 1"
            duplicates = session.execute(text(grouped)).all()
            assert duplicates == [], view
            any_null = " or ".join(f"{k} is null" for k in keys)
            nulls = session.execute(
                text(f"select count(*) from {view} where {any_null}")
            ).scalar_one()
            assert nulls == 0, view
            count = text(f"select count(*) from {view}")
            assert session.execute(count).scalar_one() > 0, view

    def test_counts_equal_a_group_by_over_runs(self, session: Session) -> None:
        generate_history(session, random.Random(11), runs=300)
        refresh(session)
        expected = session.execute(
            text(
                "select pipeline, branch, started_day, count(*), count(*) filter (where is_success)"
                " from runs_staged group by pipeline, branch, started_day"
            )
        ).all()
        got = session.execute(
            text("select pipeline, branch, day, total, success from daily_branch_history")
        ).all()
        assert sorted(got) == sorted(expected)

    def test_incremental_equals_full_after_late_and_corrected_events(
        self, session: Session
    ) -> None:
        rng = random.Random(3)
        generate_history(session, rng, runs=200)
        refresh(session)
        # Late events on old days, corrections, a run moved to another day, a deletion.
        generate_history(session, rng, runs=60, prefix="late")
        corrected = session.execute(
            text("select pipeline from runs_staged where external_id = 'h-0'")
        ).scalar_one()
        ingest(session, pipeline=corrected, status="failure", external_id="h-0", source="gen")
        session.execute(
            text(
                "update runs set started_at = started_at - interval '3 days',"
                " finished_at = finished_at - interval '3 days' where external_id = 'h-1'"
            )
        )
        session.execute(text("delete from runs where external_id = 'h-2'"))
        refresh(session)
        incremental = {
            view: daily(session, view)
            for view in ("daily_pipeline_history", "daily_branch_history")
        }
        merged = histograms(session), time_to_green_histograms(session), failure_counts(session)
        healed = heals(session)
        assert refresh(session, full=True)["refreshed"] is True
        for view, rows in incremental.items():
            assert rows == daily(session, view), view
        assert merged == (
            histograms(session),
            time_to_green_histograms(session),
            failure_counts(session),
        )
        # A removed failure can leave a heal on a day no write touched (the reader checks
        # the runs); every other heal is the same.
        expected = heals(session)
        assert len(expected) > 20
        assert {key: healed[key] for key in expected} == expected
        extra = {run_id for _, _, run_id in set(healed) - set(expected)}
        assert not extra & still_heals(session, extra)

    def test_a_late_failure_makes_an_earlier_days_success_a_heal(self, session: Session) -> None:
        ingest(session, pipeline="p", started_at=at(D2, 9), duration_sec=60, commit="c9")
        refresh(session)
        assert heals(session) == {}
        ingest(
            session,
            pipeline="p",
            status="failure",
            started_at=at(D1, 9),
            duration_sec=5,
            commit="c9",
        )
        refresh(session)
        (((day, pipeline, _), (healed_at, failure_started_at)),) = heals(session).items()
        assert (day, pipeline) == (D2, "p")
        assert healed_at == at(D2, 9, 1)
        assert failure_started_at == at(D1, 9)

    def test_duration_histograms_and_first_try_counts_per_day(self, session: Session) -> None:
        rng = random.Random(5)
        generate_history(session, rng, runs=250)
        for i in range(40):  # runs that record their attempt
            ingest(
                session,
                pipeline=rng.choice(["p1", "p2"]),
                status=rng.choice(["success", "failure", "cancelled"]),
                started_at=at(D2, 12) - timedelta(minutes=rng.randrange(3 * 24 * 60)),
                duration_sec=rng.choice([0, 0.0004, 1, 59.5, 4000]),
                branch="main",
                attempt=rng.choice([1, 1, 2]),
                triggered_by=rng.choice(["ann", "bob"]),
                external_id=f"a-{i}",
                source="gen",
            )
        refresh(session)
        runs = session.execute(
            text(
                "select pipeline, branch, started_day, status, duration_sec, attempt,"
                " started_at, triggered_by from runs_staged"
            )
        ).all()
        quarters: dict[tuple[str, str, date], dict[int, int]] = {}
        people: dict[tuple[str, str, date], dict[str, list[int]]] = {}
        expected: dict[tuple[str, str, date], DayFigures] = {}
        for pipeline, branch, day, status, duration_sec, attempt, started_at, by in runs:
            for key in ((pipeline, branch, day), (pipeline, "*", day), ("*", "*", day)):
                bins, first_try = expected.setdefault(key, ({}, [0, 0]))
                if status == "failure":
                    utc = started_at.astimezone(UTC)
                    quarter = utc.hour * 4 + utc.minute // 15 + 1
                    counts = quarters.setdefault(key, {})
                    counts[quarter] = counts.get(quarter, 0) + 1
                if status in ("success", "failure"):
                    person = people.setdefault(key, {}).setdefault(by, [0, 0])
                    person[0] += status == "failure"
                    person[1] += 1
                if status in ("success", "failure"):
                    bin_ = duration_bin(round(duration_sec * 1000))
                    bins[bin_] = bins.get(bin_, 0) + 1
                    if attempt == 1:
                        first_try[0] += 1
                        first_try[1] += status == "success"
        assert histograms(session) == {
            key: (bins, tuple(first_try)) for key, (bins, first_try) in expected.items()
        }
        assert any(first_try[0] for _, first_try in expected.values())
        assert failure_counts(session) == {
            key: (
                quarters.get(key, {}),
                people.get(key, {}),
            )
            for key in expected
        }
        assert {"ann", "bob"} <= {by for counts in people.values() for by in counts}

        recoveries = session.execute(
            text(
                "select pipelines.name, recoveries.per_branch, recoveries.branch,"
                " (recoveries.recovered_at at time zone 'UTC')::date, recoveries.time_to_green_us"
                " from recoveries join pipelines on pipelines.id = recoveries.pipeline_id"
            )
        ).all()
        green: dict[tuple[str, str, date], dict[int, int]] = {}
        for pipeline, per_branch, branch, day, time_to_green_us in recoveries:
            keys = (
                [(pipeline, branch, day)] if per_branch else [(pipeline, "*", day), ("*", "*", day)]
            )
            for key in keys:
                bins = green.setdefault(key, {})
                bin_ = duration_bin(round(time_to_green_us / 1000))
                bins[bin_] = bins.get(bin_, 0) + 1
        assert len(recoveries) > 20
        assert time_to_green_histograms(session) == green


class TestRefresh:
    def test_only_touched_days_are_recomputed(self, db_url: str) -> None:
        engine = make_engine(db_url, pool_size=1)
        with Session(engine) as session:
            generate_history(session, random.Random(5), runs=120, days=6)
            session.commit()
        with engine.begin() as conn:
            refresh(conn)
            before = _refreshed_at(conn)
        day = D1 - timedelta(days=2)
        with Session(engine) as session:
            # A late result on an old day, for one pipeline.
            ingest(
                session,
                pipeline="p2",
                status="failure",
                started_at=at(day, 6),
                duration_sec=300,
                branch="main",
            )
            session.commit()
        with engine.begin() as conn:
            assert conn.execute(text("select pipeline_id, day from history_changes")).all() == [
                (_pipeline_id(conn, "p2"), day)
            ]
            refresh(conn)
            after = _refreshed_at(conn)
            assert conn.execute(text("select count(*) from history_changes")).scalar_one() == 0
        changed = {key for key in after if after[key] != before.get(key)}
        assert changed
        assert {(pipeline, d) for pipeline, _, d in changed} == {("p2", day)}
        assert set(before) <= set(after)
        engine.dispose()

    def test_a_refresh_never_misses_a_run_in_flight(self, db_url: str) -> None:
        """A run written (not yet committed) on a day already noted for refresh: the refresh
        that takes the day's key waits for it, so the day ends up with the run."""
        engine = make_engine(db_url, pool_size=3)
        with Session(engine) as session:
            ingest(session, pipeline="web", started_at=at(D1, 9), duration_sec=60, branch="main")
            session.commit()  # (web, D1) is noted, not refreshed yet
        with engine.connect() as writer:
            in_flight = writer.begin()
            ingest(
                Session(bind=writer, join_transaction_mode="create_savepoint"),
                pipeline="web",
                started_at=at(D1, 10),
                duration_sec=60,
                branch="main",
            )
            refreshed: list[worker.Refresh] = []
            refresher = threading.Thread(
                target=lambda: refreshed.append(worker.refresh_history(engine, wait=True))
            )
            refresher.start()
            refresher.join(timeout=1.0)
            assert refresher.is_alive(), "the refresh took the key of a write in flight"
            in_flight.commit()
            refresher.join(timeout=30)
        assert refreshed
        with engine.connect() as conn:
            days = daily(conn, "daily_pipeline_history")
        assert days[("web", D1)]["total"] == 2
        engine.dispose()

    def test_one_refresher_at_a_time(self, db_url: str) -> None:
        engine = make_engine(db_url, pool_size=3)
        with Session(engine) as session:
            generate_history(session, random.Random(9), runs=30)
            session.commit()
        with engine.connect() as holder:
            holding = holder.begin()
            assert refresh(holder)["refreshed"] is True  # holds the lock until it commits
            skipped = worker.refresh_history(engine)
            assert not skipped.refreshed
            assert (skipped.pipeline_days, skipped.branch_days) == (0, 0)

            waited: list[worker.Refresh] = []
            waiter = threading.Thread(
                target=lambda: waited.append(worker.refresh_history(engine, wait=True))
            )
            waiter.start()
            waiter.join(timeout=1.0)
            assert waiter.is_alive(), "a waiting refresh ran while another held the lock"
            holding.commit()
            waiter.join(timeout=30)
            assert waited
            assert waited[0].refreshed
        engine.dispose()

    def test_worker_loop_refreshes_and_stops(self, db_url: str) -> None:
        engine = make_engine(db_url, pool_size=1)
        with Session(engine) as session:
            ingest(session, pipeline="web", started_at=at(D1, 8), duration_sec=10)
            session.commit()
        stop = threading.Event()
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            stop.set()

        worker.run(engine, interval_sec=0.05, stop=stop, log=log)
        assert lines
        assert lines[0].startswith("history refreshed: 1 pipeline-days, 1 branch-days")
        with engine.connect() as conn:
            assert conn.execute(text("select total from daily_pipeline_history")).all() == [(1,)]
        engine.dispose()


class TestDailyTrends:
    def test_a_year_of_days_with_gaps_filled(self, session: Session) -> None:
        today = session.execute(text("select (now() at time zone 'UTC')::date")).scalar_one()
        noon = datetime(today.year, today.month, today.day, 0, 0, tzinfo=UTC)
        ingest(session, pipeline="web", started_at=noon - timedelta(days=3), duration_sec=20)
        ingest(
            session,
            pipeline="web",
            status="failure",
            started_at=noon - timedelta(days=3, hours=-1),
            duration_sec=40,
            branch="dev",
        )
        refresh(session)
        frame = daily_trends(session, pipeline="web")
        assert len(frame) == 365
        assert frame["day"].iloc[-1].date() == today
        assert frame["day"].is_monotonic_increasing
        three_days_ago = frame.set_index("day").loc[str(today - timedelta(days=3))]
        assert (three_days_ago["total"], three_days_ago["success"]) == (2, 1)
        assert (three_days_ago["success_rate"], three_days_ago["avg_duration_sec"]) == (0.5, 30.0)
        assert frame["total"].sum() == 2
        assert frame["p95_duration_sec"].isna().sum() == 364
        dev = daily_trends(session, pipeline="web", branch="dev", days=7)
        assert len(dev) == 7
        assert dev["failure"].sum() == 1
        assert daily_trends(session, pipeline="nope", days=3)["total"].tolist() == [0, 0, 0]
        with pytest.raises(ValueError, match="days"):
            daily_trends(session, pipeline="web", days=0)

    def test_sql_views_are_the_four(self, shared_engine: Engine) -> None:
        with shared_engine.connect() as conn:
            views = conn.execute(
                text(
                    "select table_name from information_schema.views where table_schema = 'public'"
                )
            ).scalars()
            assert set(views) == set(SQL_VIEWS)

    def test_exported_by_analytics_without_loading_pandas_into_the_api(self) -> None:
        assert analytics.daily_trends is daily_trends
        assert analytics.health_table is health_table
        probe = "import sys, ingest_api.main, analytics; print('pandas' in sys.modules)"
        loaded = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
        assert loaded.stdout.strip() == "False", loaded.stderr


def generate_history(
    session: Session, rng: random.Random, *, runs: int, days: int = 10, prefix: str = "h"
) -> None:
    """Random runs over `days` days before D2, through the ingest path: three pipelines,
    three branches, every status, some of them corrected later."""
    for i in range(runs):
        started = at(D2, 12) - timedelta(minutes=rng.randrange(days * 24 * 60))
        status = rng.choice(["success", "success", "failure", "cancelled", "skipped", "running"])
        fields: dict[str, Any] = {
            "pipeline": rng.choice(["p1", "p2", "p3"]),
            "status": status,
            "started_at": started,
            "branch": rng.choice(["main", "dev", "feat/x"]),
            "external_id": f"{prefix}-{i}",
            "source": "gen",
        }
        if status != "running":
            fields["duration_sec"] = rng.randrange(1, 3600 * 1000) / 1000
        ingest(session, **fields)


DayFigures = tuple[dict[int, int], list[int]]


Day = tuple[str, str, date]


def _day_rows(session: Session, columns: str) -> list[tuple[Any, ...]]:
    """(pipeline, branch, day, *columns) of every history day: per branch, per pipeline
    (branch "*") and across pipelines ("*", "*")."""
    return list(
        session.execute(
            text(
                f"select pipelines.name, days.branch, days.day, {columns}"
                " from history_branch_days as days"
                " join pipelines on pipelines.id = days.pipeline_id"
                " union all"
                f" select pipelines.name, '*', days.day, {columns}"
                " from history_pipeline_days as days"
                " join pipelines on pipelines.id = days.pipeline_id"
                " union all"
                f" select '*', '*', days.day, {columns} from history_days as days"
            )
        ).all()
    )


def _bins(hist_column: str) -> str:
    return f"array_lower(days.{hist_column}, 1), days.{hist_column}"


def _as_dict(lower: int | None, hist: list[int] | None) -> dict[int, int]:
    return {lower + i: n for i, n in enumerate(hist) if n} if hist and lower is not None else {}


def histograms(session: Session) -> dict[Day, tuple[dict[int, int], tuple[int, int]]]:
    """Each day's duration histogram as {bin: decided runs} and its first-try (decided,
    success) counts."""
    rows = _day_rows(
        session, f"{_bins('duration_hist')}, days.first_try_decided, days.first_try_success"
    )
    return {
        (pipeline, branch, day): (_as_dict(lower, hist), (int(decided), int(success)))
        for pipeline, branch, day, lower, hist, decided, success in rows
    }


def heals(session: Session) -> dict[tuple[date, str, int], tuple[datetime, datetime]]:
    rows = session.execute(
        text(
            "select heals.day, pipelines.name, heals.run_id, heals.healed_at,"
            " heals.last_failure_started_at"
            " from history_heals as heals join pipelines on pipelines.id = heals.pipeline_id"
        )
    ).all()
    return {(day, name, run_id): (healed, failed) for day, name, run_id, healed, failed in rows}


def still_heals(session: Session, run_ids: set[int]) -> set[int]:
    """Those of these runs that are successes after a failure of their commit on their
    pipeline."""
    query = text(
        "select success.id from runs as success where success.id = any(:ids)"
        " and success.status = 'success' and exists (select from runs as failure"
        " where failure.pipeline_id = success.pipeline_id and failure.commit = success.commit"
        " and failure.status = 'failure' and failure.finished_at < success.finished_at)"
    )
    return set(session.execute(query, {"ids": list(run_ids)}).scalars())


def duration_bin(ms: int) -> int:
    """sql/functions/duration_bin_v01.sql, written out independently."""
    return 0 if ms <= 0 else 1 + math.ceil(math.log(ms) / math.log(1.04) - 1e-9)


def failure_counts(session: Session) -> dict[Day, tuple[dict[int, int], dict[str, list[int]]]]:
    """Each day's failures as {UTC quarter-hour 1-96: failures}, and {person: [failures,
    decided]}."""
    rows = _day_rows(session, f"{_bins('failures_by_quarter')}, days.decided_by_trigger")
    return {
        (pipeline, branch, day): (_as_dict(lower, hist), people or {})
        for pipeline, branch, day, lower, hist, people in rows
    }


def time_to_green_histograms(session: Session) -> dict[Day, dict[int, int]]:
    """Each day's recoveries as {bin of time to green in ms: recoveries}, days with some."""
    rows = _day_rows(session, _bins("time_to_green_hist"))
    return {
        (pipeline, branch, day): _as_dict(lower, hist)
        for pipeline, branch, day, lower, hist in rows
        if hist
    }


def _pipeline_id(conn: Connection, name: str) -> int:
    return int(
        conn.execute(text("select id from pipelines where name = :n"), {"n": name}).scalar_one()
    )


def _refreshed_at(conn: Connection) -> dict[tuple[str, str, date], datetime]:
    rows = conn.execute(
        text(
            "select pipelines.name, days.branch, days.day, days.refreshed_at"
            " from history_branch_days as days join pipelines on pipelines.id = days.pipeline_id"
            " union all"
            " select pipelines.name, '*', days.day, days.refreshed_at"
            " from history_pipeline_days as days join pipelines on pipelines.id = days.pipeline_id"
        )
    ).all()
    return {(name, branch, day): at_ for name, branch, day, at_ in rows}
