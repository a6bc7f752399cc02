"""The Streamlit trends app through AppTest, on seeded runs; expected figures computed here."""

from __future__ import annotations

import base64
import bisect
import json
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from streamlit.testing.v1 import AppTest

from analytics import trends
from ingest_api.db import make_engine
from ingest_api.processes import free_port
from tests.factories import ingest

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py")
TODAY = datetime.now(UTC).date()


def day(ago: int, hour: int) -> datetime:
    d = TODAY - timedelta(days=ago)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    pipeline: str
    status: str
    started_at: datetime
    duration_sec: float
    branch: str = "main"
    commit: str = "c0"
    triggered_by: str = "octocat"
    attempt: int | None = None
    source: str | None = None
    external_id: str | None = None


# web: commit c2 fails on attempt 1 and passes when re-run an hour later (one recovery of
# 1h 01m: red from 10:00:30 to 11:01:30); feat fails once. api: two passes, then a failure.
RUNS = (
    Seeded("web", "success", day(9, 10), 60, commit="c1"),
    Seeded("web", "failure", day(2, 10), 30, commit="c2", attempt=1),
    Seeded("web", "success", day(2, 11), 90, commit="c2", attempt=2),
    Seeded("web", "success", day(1, 9), 40, commit="c3", attempt=1),
    Seeded("web", "failure", day(1, 12), 120, branch="feat", commit="c4", triggered_by="hubot"),
    Seeded("api", "success", day(3, 8), 200, commit="c5", source="github", external_id="555-1"),
    Seeded("api", "success", day(2, 8), 180, commit="c6"),
    Seeded("api", "failure", day(1, 8), 100, commit="c7", triggered_by="hubot"),
)


def in_days(run: Seeded, first: int, last: int) -> bool:
    """Started between `first` and `last` days ago (both included)."""
    return TODAY - timedelta(days=first) <= run.started_at.date() <= TODAY - timedelta(last)


def rate(runs: list[Seeded]) -> float:
    decided = [r for r in runs if r.status in {"success", "failure"}]
    return sum(r.status == "success" for r in decided) / len(decided)


def seed(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with sessionmaker(engine).begin() as session:
        for run in RUNS:
            fields: dict[str, Any] = {
                k: v for k, v in run.__dict__.items() if v is not None and k != "commit"
            }
            ingest(session, commit=run.commit, url=f"https://ci.example/{run.commit}", **fields)
        # One GitHub job of api's webhook run: queued 30 s, ran 2 minutes, two steps.
        created = day(3, 8)
        session.execute(
            text(
                """
                insert into github_jobs (id, run_id, run_attempt, name, status, conclusion,
                    created_at, started_at, completed_at, runner_labels, steps)
                values (1, 555, 1, 'build', 'completed', 'success', :created, :started,
                    :completed, array['ubuntu-latest'], cast(:steps as jsonb))
                """
            ),
            {
                "created": created,
                "started": created + timedelta(seconds=30),
                "completed": created + timedelta(seconds=150),
                "steps": json.dumps(
                    [
                        {
                            "name": "test",
                            "number": 1,
                            "conclusion": "success",
                            "started_at": (created + timedelta(seconds=30)).isoformat(),
                            "completed_at": (created + timedelta(seconds=130)).isoformat(),
                        },
                        {
                            "name": "lint",
                            "number": 2,
                            "conclusion": "success",
                            "started_at": (created + timedelta(seconds=130)).isoformat(),
                            "completed_at": (created + timedelta(seconds=150)).isoformat(),
                        },
                    ]
                ),
            },
        )
    with engine.begin() as conn:
        conn.execute(text("select * from refresh_history(true, true)"))
    engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    # The caches live in this process across tests, whose databases differ.
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture(name="seeded")
def _seeded(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    seed(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PULSE_DASHBOARD_URL", "http://dash.example:5173")
    return db_url


def app(page: str | None = None, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def figure(at: AppTest, index: int) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(at.get("plotly_chart")[index].proto.spec)
    return spec


def plotted(values: Any) -> list[float]:
    """A figure's numbers, which plotly may send as a base64 typed array."""
    if isinstance(values, dict):
        return list(np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]))
    return list(values)


# Enough decided runs (more than EXACT_PERCENTILES_UP_TO) that a week's percentiles come from
# the daily history's duration histograms: within 1.96 % + 0.5 ms of percentile_cont.
BUSY_RUNS = 2400


def busy_runs() -> list[tuple[datetime, float, str]]:
    """(started_at, duration_sec, status) of one pipeline over the 20 days before today."""
    rng = np.random.default_rng(16)
    starts = [
        datetime.combine(TODAY - timedelta(days=20), datetime.min.time(), UTC)
        + timedelta(seconds=float(s))
        for s in rng.uniform(0, 20 * 86400 - 3600, BUSY_RUNS)
    ]
    durations = np.round(rng.lognormal(4.5, 0.6, BUSY_RUNS), 3)
    statuses = np.where(rng.random(BUSY_RUNS) < 0.8, "success", "failure")
    return list(zip(starts, durations.tolist(), statuses.tolist(), strict=True))


@pytest.fixture(name="busy")
def _busy(db_url: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime, float, str]]:
    runs = busy_runs()
    bulk_load(db_url, "busy", runs)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return runs


def bulk_load(db_url: str, pipeline: str, runs: list[tuple[datetime, float, str]]) -> None:
    """Runs of one pipeline on main, loaded as `pulse rebuild-rollups` expects: triggers off,
    then the rollups rebuilt and the whole history refreshed."""
    engine = make_engine(db_url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("alter table runs disable trigger user"))
        conn.execute(text("insert into pipelines (name) values (:name)"), {"name": pipeline})
        conn.execute(
            text(
                """
                insert into runs (pipeline_id, status, started_at, finished_at, duration_sec,
                    branch, commit, triggered_by, source, external_id)
                select
                    (select id from pipelines where name = :name), run.status::run_status,
                    run.started_at, run.started_at + make_interval(secs => run.duration_sec),
                    run.duration_sec, 'main', md5(run.n::text), 'octocat', 'test', run.n::text
                from unnest(cast(:starts as timestamptz[]), cast(:durations as float8[]),
                    cast(:statuses as text[])) with ordinality
                    as run (started_at, duration_sec, status, n)
                """
            ),
            {
                "name": pipeline,
                "starts": [r[0] for r in runs],
                "durations": [r[1] for r in runs],
                "statuses": [r[2] for r in runs],
            },
        )
        conn.execute(text("alter table runs enable trigger user"))
        conn.execute(text("select rebuild_rollups(id) from pipelines"))
        conn.execute(text("select * from refresh_history(true, true)"))
    engine.dispose()


def within_histogram_bound(got: float, durations: list[float], q: float) -> bool:
    exact = float(np.percentile(durations, q * 100))  # linear, as percentile_cont
    return abs(got - exact) <= exact * 0.0196 + 0.0005 + 0.0005  # + rounding to 3 decimals


# Failing and passing in turn: more recoveries than EXACT_PERCENTILES_UP_TO, so a range's time to
# green comes from the daily history's histograms.
FLAPPY_RUNS = 4600


class TestFlappyTimeToGreen:
    def test_time_to_green_from_the_histograms(self, db_url: str) -> None:
        rng = np.random.default_rng(19)
        # 370 s apart give or take 60, none longer than 300 s: each finishes before the next.
        starts = np.arange(FLAPPY_RUNS) * 370 + rng.uniform(0, 60, FLAPPY_RUNS)
        midnight = datetime.combine(TODAY - timedelta(days=20), datetime.min.time(), UTC)
        runs = [
            (midnight + timedelta(seconds=float(start)), float(np.round(rng.uniform(1, 300), 3)), s)
            for start, s in zip(starts, ["failure", "success"] * (FLAPPY_RUNS // 2), strict=True)
        ]
        bulk_load(db_url, "flappy", runs)
        scope = trends.Scope(TODAY - timedelta(days=20), TODAY)
        engine = make_engine(db_url, pool_size=1)
        with sessionmaker(engine)() as session:
            episodes = trends.recovery_episodes(session, scope)  # exact, from `recoveries`
            green = trends.time_to_green(session, scope)
            one_branch = trends.time_to_green(session, replace(scope, branches=("main",)))
        engine.dispose()
        times = episodes["time_to_green_sec"].tolist()
        assert len(times) > 2000
        assert green.recoveries == len(times)
        assert green.mean_sec == pytest.approx(statistics.mean(times), abs=0.001)
        assert green.median_sec is not None
        assert within_histogram_bound(green.median_sec, times, 0.5)
        # Each episode counts in the band of its bin's value (sql/functions/duration_bin_v01.sql).
        expected = [0] * len(trends.TIME_TO_GREEN_BANDS)
        for t in times:
            ms = round(t * 1000)
            bin_ = 0 if ms <= 0 else 1 + math.ceil(math.log(ms) / math.log(1.04) - 1e-9)
            value = 0 if bin_ <= 0 else 2 * 1.04 ** (bin_ - 1) / 2.04 / 1000
            expected[bisect.bisect_right(trends.TIME_TO_GREEN_BANDS, value) - 1] += 1
        assert green.bands["recoveries"].tolist() == expected
        assert one_branch.recoveries == len(times)
        assert one_branch.bands["recoveries"].tolist() == expected


class TestBusyTrends:
    def test_weekly_percentiles_from_the_histograms_within_their_bound(
        self, busy: list[tuple[datetime, float, str]]
    ) -> None:
        at = app(grain="week")
        frame = at.dataframe[0].value
        weeks = 0
        for period, total, p50, p95 in frame[
            ["period", "total", "p50_duration_sec", "p95_duration_sec"]
        ].itertuples(index=False, name=None):
            monday = pd.Timestamp(period).date()
            durations = [
                d for started, d, _ in busy if monday <= started.date() < monday + timedelta(days=7)
            ]
            assert total == len(durations)
            if not durations:
                continue
            weeks += 1
            assert within_histogram_bound(float(p50), durations, 0.5)
            assert within_histogram_bound(float(p95), durations, 0.95)
        assert weeks >= 3
        assert int(frame["total"].sum()) == BUSY_RUNS

    @pytest.mark.parametrize(
        ("pipelines", "branches", "per_pipeline"),
        [((), (), False), (("busy",), (), False), ((), ("main",), False), ((), (), True)],
        ids=["all pipelines", "one pipeline", "one branch", "per pipeline"],
    )
    def test_every_histogram_source_within_the_bound(
        self,
        busy: list[tuple[datetime, float, str]],
        db_url: str,
        pipelines: tuple[str, ...],
        branches: tuple[str, ...],
        per_pipeline: bool,
    ) -> None:
        scope = trends.Scope(TODAY - timedelta(days=20), TODAY, pipelines, branches)
        durations = [d for _, d, _ in busy]
        engine = make_engine(db_url, pool_size=1)
        with sessionmaker(engine)() as session:
            frame = trends.period_trends(session, scope, grain="month", per_pipeline=per_pipeline)
            whole = trends.range_totals(session, scope)
            by_pipeline = trends.slowest_pipelines(session, scope)
        engine.dispose()
        assert whole["p50_duration_sec"] is not None
        assert whole["p95_duration_sec"] is not None
        assert within_histogram_bound(whole["p50_duration_sec"], durations, 0.5)
        assert within_histogram_bound(whole["p95_duration_sec"], durations, 0.95)
        assert whole["first_try_success_rate"] is None  # no run records its attempt
        (p95,) = by_pipeline["p95_duration_sec"].tolist()
        assert within_histogram_bound(p95, durations, 0.95)
        assert set(frame["pipeline"]) == {"busy" if per_pipeline else ""}
        for period, p50 in frame[["period", "p50_duration_sec"]].itertuples(index=False):
            first = pd.Timestamp(period).date()
            month = [
                d
                for started, d, _ in busy
                if (started.year, started.month) == (first.year, first.month)
            ]
            assert within_histogram_bound(float(p50), month, 0.5)


@pytest.mark.usefixtures("seeded")
class TestTrends:
    def test_week_over_week_metrics(self) -> None:
        at = app()
        week = [r for r in RUNS if in_days(r, 6, 0)]
        before = [r for r in RUNS if in_days(r, 13, 7)]
        decided = [r.duration_sec for r in week if r.status != "running"]
        first_try = [r for r in week if r.attempt == 1]
        got = metrics(at)
        assert got["Success rate"] == (
            f"{rate(week) * 100:.1f}%",
            f"{(rate(week) - rate(before)) * 100:+.1f} pp",
        )
        assert got["First-try success"][0] == f"{rate(first_try) * 100:.1f}%"
        p50 = statistics.median(decided)
        assert got["p50 duration"][0] == f"{int(p50 // 60)}m {round(p50 % 60):02d}s"
        assert got["Runs per day"][0] == f"{len(week) / 7:.1f}"
        assert len(at.get("plotly_chart")) == 3

    def test_the_daily_figures(self) -> None:
        at = app()
        frame = at.dataframe[0].value
        assert len(frame) == 30  # every day of the default range, runs or not
        assert int(frame["total"].sum()) == len(RUNS)
        by_day = frame.set_index(frame["period"].dt.date)
        for ago in (1, 2, 9):
            runs = [r for r in RUNS if r.started_at.date() == TODAY - timedelta(days=ago)]
            row = by_day.loc[TODAY - timedelta(days=ago)]
            assert row["total"] == len(runs)
            assert row["success_rate"] == pytest.approx(round(rate(runs), 4))
            durations = [r.duration_sec for r in runs]
            assert row["p50_duration_sec"] == pytest.approx(statistics.median(durations))

    def test_pipeline_from_the_dashboards_url_filters(self) -> None:
        at = app(pipeline="api")
        api_week = [r for r in RUNS if r.pipeline == "api" and in_days(r, 6, 0)]
        assert metrics(at)["Success rate"][0] == f"{rate(api_week) * 100:.1f}%"
        assert at.sidebar.multiselect(key="f_pipelines").value == ["api"]
        link = at.get("link_button")[0].proto.url
        assert link == "http://dash.example:5173/?pipeline=api"

    def test_changing_filters_changes_the_numbers_and_the_url(self) -> None:
        at = app()
        at.sidebar.multiselect(key="f_branches").set_value(["feat"]).run()
        assert metrics(at)["Success rate"][0] == "0.0%"
        assert at.query_params["branch"] == "feat"
        at.sidebar.selectbox(key="f_grain").set_value("week").run()
        assert not at.exception
        frame = at.dataframe[0].value
        assert int(frame["total"].sum()) == 1
        assert at.query_params["grain"] == "week"

    def test_a_range_without_runs_says_so(self) -> None:
        at = app(**{"from": "2020-01-01", "to": "2020-01-31"})
        assert any("No runs match" in info.value for info in at.info)


def minute(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


@pytest.mark.usefixtures("seeded")
class TestReliability:
    def test_health_time_to_green_and_flaky_commits(self) -> None:
        at = app("app_pages/reliability.py")
        got = metrics(at)
        assert got["Pipelines failing"][0] == "2 of 2"
        assert got["Recoveries"][0] == "1"
        assert got["Mean time to green"][0] == "1h 01m"
        assert got["Median time to green"][0] == "1h 01m"
        # Red from 10:00:30 to 11:01:30: one recovery in the 1-2 hour band.
        bands = figure(at, 1)["data"][0]
        counted = dict(zip(bands["x"], plotted(bands["y"]), strict=True))
        assert counted["1h-2h"] == 1
        assert sum(counted.values()) == 1
        flaky = at.dataframe[1].value
        assert list(flaky["Commit"]) == ["c2"]
        assert bool(flaky["Re-run turned it green"].iloc[0]) is True
        assert "turned red into green in this range: **1**" in at.caption[-1].value

    def test_the_health_table_is_for_people(self) -> None:
        at = app("app_pages/reliability.py")
        table = at.dataframe[0].value.set_index("Pipeline")
        assert list(table.columns) == [
            "State",
            "Failures in a row",
            "Failing since",
            "Last success",
            "Last failure",
            "Mean time to green (all time)",
        ]
        for name in ("web", "api"):
            decided = sorted(
                (r.started_at + timedelta(seconds=r.duration_sec), r.status)
                for r in RUNS
                if r.pipeline == name
            )
            last_success = max(t for t, status in decided if status == "success")
            failures_after = [t for t, status in decided if t > last_success]
            row = table.loc[name]
            assert row["State"] == "Failing"
            assert row["Failures in a row"] == len(failures_after)
            assert row["Failing since"] == minute(failures_after[0])
            assert row["Last success"] == minute(last_success)
            assert row["Last failure"] == minute(failures_after[-1])
        # web recovered once (1h 01m); api never did: a dash, not "None".
        assert table.loc["web", "Mean time to green (all time)"] == "1h 01m"
        assert table.loc["api", "Mean time to green (all time)"] == "—"
        assert not table.isna().any().any()


@pytest.mark.usefixtures("seeded")
class TestWhereTimeGoes:
    def test_slowest_pipelines_and_github_jobs(self) -> None:
        at = app("app_pages/time.py")
        slowest = at.dataframe[0].value
        assert list(slowest["pipeline"]) == ["api", "web"]
        api = [r.duration_sec for r in RUNS if r.pipeline == "api"]
        mean = statistics.mean(api)
        assert slowest["average"].iloc[0] == f"{int(mean // 60)}m {round(mean % 60):02d}s"
        jobs = at.dataframe[1].value
        assert jobs[["job", "runner_label", "queue", "run"]].values.tolist() == [
            ["build", "ubuntu-latest", "30s", "2m 00s"]
        ]
        steps = at.dataframe[2].value
        assert list(steps["step"]) == ["test", "lint"]
        assert list(steps["total"]) == ["1m 40s", "20s"]


@pytest.mark.usefixtures("seeded")
class TestWhenThingsBreak:
    def test_heatmap_in_the_viewers_clock_and_by_who(self) -> None:
        at = app("app_pages/breakages.py", tz="60")
        failures = [r for r in RUNS if r.status == "failure"]
        heat = figure(at, 0)["data"][0]["z"]
        assert sum(map(sum, heat)) == len(failures)
        for run in failures:
            local = run.started_at + timedelta(hours=1)
            assert heat[local.weekday()][local.hour] >= 1
        assert at.selectbox(key="b_offset").value == 60
        by_who = figure(at, 2)["data"][0]
        counts = dict(zip(by_who["y"], plotted(by_who["x"]), strict=True))
        assert counts == {"hubot": 2, "octocat": 1}

    @pytest.mark.parametrize("offset_min", [0, 330, -345, 7])
    def test_heatmap_on_any_clock(self, seeded: str, offset_min: int) -> None:
        # Whole quarter-hours read the daily history, 7 minutes the runs: both exact.
        scope = trends.Scope(TODAY - timedelta(days=29), TODAY)
        engine = make_engine(seeded, pool_size=1)
        with sessionmaker(engine)() as session:
            heat = trends.failure_heatmap(session, scope, offset_min=offset_min)
        engine.dispose()
        expected: dict[tuple[int, int], int] = {}
        for run in RUNS:
            if run.status == "failure":
                local = run.started_at + timedelta(minutes=offset_min)
                cell = (local.isoweekday(), local.hour)
                expected[cell] = expected.get(cell, 0) + 1
        got = {(w, h): n for w, h, n in heat.itertuples(index=False)}
        assert got == expected


@pytest.mark.usefixtures("seeded")
class TestRunsExplorer:
    def test_the_runs_their_links_and_a_status_from_a_link(self) -> None:
        at = app("app_pages/runs.py")
        runs = at.dataframe[0].value
        assert len(runs) == len(RUNS)
        assert runs["url"].str.startswith("https://ci.example/").all()
        at = app("app_pages/runs.py", status="failure")
        assert set(at.dataframe[0].value["status"]) == {"failure"}
        assert len(at.dataframe[0].value) == sum(r.status == "failure" for r in RUNS)
        assert at.get("download_button")

    @pytest.mark.parametrize("pipelines", [("web",), ("web", "api")])
    def test_chosen_pipelines_newest_first(self, seeded: str, pipelines: tuple[str, ...]) -> None:
        # Each chosen pipeline is read along its own index, then merged.
        scope = trends.Scope(TODAY - timedelta(days=29), TODAY, pipelines)
        engine = make_engine(seeded, pool_size=1)
        with sessionmaker(engine)() as session:
            runs = trends.run_list(session, scope, limit=3)
            failed = trends.run_list(session, scope, statuses=("failure",))
        engine.dispose()
        chosen = sorted(
            (r for r in RUNS if r.pipeline in pipelines), key=lambda r: r.started_at, reverse=True
        )
        got = list(zip(runs["pipeline"], runs["started_at"], strict=True))
        assert got == [(r.pipeline, r.started_at) for r in chosen[:3]]
        assert len(failed) == sum(r.status == "failure" for r in chosen)


class TestStates:
    def test_empty_database(self, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", db_url)
        at = app()
        assert "No runs yet" in at.info[0].value

    def test_database_down(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", f"postgresql://pulse@127.0.0.1:{free_port()}/pulse")
        at = app()
        assert "database is not answering" in at.warning[0].value

    def test_no_database_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        at = app()
        assert "pulse streamlit" in at.warning[0].value


def test_expected_days_are_in_the_default_range() -> None:
    assert all(in_days(r, 29, 0) for r in RUNS)
    assert date.today() - TODAY <= timedelta(days=1)
