"""The rollup triggers, path by path; rebuild_rollups."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import analytics
from tests.factories import ingest
from tests.rollup_checks import assert_rollups_exact

T0 = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # an hour, a day and a month boundary near
NEXT_HOUR = datetime(2026, 11, 1, 0, tzinfo=UTC)  # the first row that counts a run at T0


def totals(session: Session, hour_start: datetime) -> dict[str, object]:
    """The running totals of pipeline web before hour_start; the same for its branch main."""
    found = [
        dict(row)
        for row in session.execute(
            text(
                "select running, success, failure, cancelled, skipped, decided_duration_ms,"
                " duration_hist from pipeline_hour_totals where hour_start = :at"
                " union all"
                " select running, success, failure, cancelled, skipped, decided_duration_ms,"
                " duration_hist from branch_hour_totals where branch = 'main' and hour_start = :at"
            ),
            {"at": hour_start},
        ).mappings()
    ]
    if not found:
        return {}
    pipeline_wide, branch = found
    assert pipeline_wide == branch  # every run here is on main
    return pipeline_wide


class TestTriggerPaths:
    def test_insert(self, session: Session) -> None:
        ingest(session, started_at=T0, duration_sec=90.5)
        after = totals(session, NEXT_HOUR)
        assert (after["success"], after["decided_duration_ms"]) == (1, 90500)
        hist = after["duration_hist"]
        assert isinstance(hist, list)
        assert sum(hist) == 1
        assert totals(session, NEXT_HOUR - timedelta(hours=1)) == {}
        assert_rollups_exact(session)

    @pytest.mark.parametrize("result", ["success", "failure", "cancelled", "skipped"])
    def test_running_to_each_result(self, session: Session, result: str) -> None:
        ingest(session, status="running", started_at=T0, external_id="r")
        assert totals(session, NEXT_HOUR)["running"] == 1
        ingest(session, status=result, duration_sec=60, external_id="r", branch=None)
        after = totals(session, NEXT_HOUR)
        assert (after["running"], after[result]) == (0, 1)
        decided = result in {"success", "failure"}
        assert after["decided_duration_ms"] == (60000 if decided else 0)
        assert_rollups_exact(session)

    def test_corrected_result(self, session: Session) -> None:
        ingest(session, status="failure", started_at=T0, duration_sec=10, external_id="c")
        ingest(session, status="success", started_at=T0, duration_sec=12, external_id="c")
        after = totals(session, NEXT_HOUR)
        assert (after["failure"], after["success"], after["decided_duration_ms"]) == (0, 1, 12000)
        assert_rollups_exact(session)

    def test_started_at_moves_to_a_later_hour(self, session: Session) -> None:
        ingest(session, status="running", started_at=T0, external_id="m")
        later = T0 + timedelta(hours=1)  # 2026-11-01 00:30: another hour, day and month
        ingest(session, status="success", started_at=later, duration_sec=5, external_id="m")
        assert (totals(session, NEXT_HOUR)["running"], totals(session, NEXT_HOUR)["success"]) == (
            0,
            0,
        )
        assert totals(session, NEXT_HOUR + timedelta(hours=1))["success"] == 1
        assert_rollups_exact(session)

    def test_late_run_counts_in_every_later_row(self, session: Session) -> None:
        ingest(session, started_at=T0, duration_sec=5)
        ingest(session, started_at=T0 + timedelta(days=2), duration_sec=5)
        ingest(session, status="failure", started_at=T0 - timedelta(days=30), duration_sec=7)
        assert totals(session, NEXT_HOUR)["failure"] == 1
        assert totals(session, NEXT_HOUR + timedelta(days=2))["failure"] == 1
        assert totals(session, NEXT_HOUR - timedelta(days=30))["failure"] == 1
        assert_rollups_exact(session)

    def test_delete(self, session: Session) -> None:
        run = ingest(session, status="failure", started_at=T0, duration_sec=30)
        ingest(session, status="success", started_at=T0 + timedelta(minutes=5), duration_sec=3)
        session.execute(text("delete from runs where id = :id"), {"id": run.id})
        after = totals(session, NEXT_HOUR)
        assert (after["failure"], after["success"], after["decided_duration_ms"]) == (0, 1, 3000)
        assert_rollups_exact(session)

    def test_other_columns_do_not_touch_rollups(self, session: Session) -> None:
        run = ingest(session, started_at=T0, duration_sec=30)
        before = totals(session, NEXT_HOUR)
        session.execute(
            text("update runs set url = 'https://ci.example/1', commit = 'x' where id = :id"),
            {"id": run.id},
        )
        assert totals(session, NEXT_HOUR) == before


class TestRecoveries:
    def test_episodes_follow_late_and_moved_results(self, session: Session) -> None:
        base = T0 - timedelta(days=3)
        plan = ["success", "failure", "failure", "success", "failure", "success"]
        ids = []
        for i, status in enumerate(plan):
            ids.append(
                ingest(
                    session,
                    status=status,
                    finished_at=base + timedelta(minutes=10 * i),
                    external_id=f"e{i}",
                    branch="main" if i % 2 else "dev",
                ).id
            )
        assert_rollups_exact(session)
        # A late failure in the middle of a green stretch, then a correction, then a delete.
        ingest(
            session, status="failure", finished_at=base + timedelta(minutes=5), external_id="late"
        )
        assert_rollups_exact(session)
        ingest(
            session,
            status="success",
            finished_at=base + timedelta(minutes=25),
            external_id="e2",
            branch=None,
        )
        assert_rollups_exact(session)
        session.execute(text("delete from runs where id = :id"), {"id": ids[3]})
        assert_rollups_exact(session)

    def test_random_history(self, session: Session) -> None:
        rng = random.Random(7)
        rejected = 0
        for i in range(200):
            try:
                with session.begin_nested():
                    self._random_event(session, rng, i)
            except DBAPIError:
                rejected += 1  # e.g. a repeat whose times contradict the stored start
        assert 0 < rejected < 100
        assert_rollups_exact(session)

    @staticmethod
    def _random_event(session: Session, rng: random.Random, i: int) -> None:
        ingest(
            session,
            pipeline=rng.choice(["web", "api"]),
            branch=rng.choice(["main", "dev", ""]),
            status=rng.choice(["success", "failure", "failure", "cancelled"]),
            finished_at=T0 - timedelta(minutes=rng.uniform(0, 5000)),
            duration_sec=rng.uniform(0, 100),
            external_id=str(rng.randrange(150)),
            source="ci" if i % 3 else "api",
        )


class TestPipelinesList:
    def test_branches_follow_moved_and_deleted_runs(self, session: Session) -> None:
        now = session.execute(text("select now()")).scalar_one()
        dev = ingest(session, branch="dev", started_at=now - timedelta(hours=5), duration_sec=5)
        main = ingest(session, branch="main", started_at=now - timedelta(hours=1), duration_sec=5)
        ingest(session, pipeline="api", branch="main", started_at=now, duration_sec=5)

        def web() -> tuple[list[str], int]:
            listed = {p.name: p for p in analytics.pipelines(session)}
            return listed["web"].branches, listed["web"].total_runs

        assert web() == (["main", "dev"], 2)
        # main's run moves ten hours back: the totals row after its old hour stays, without
        # runs in that hour, so main's latest run is found further back.
        session.execute(
            text(
                "update runs set started_at = started_at - interval '10 hours',"
                " finished_at = finished_at - interval '10 hours' where id = :id"
            ),
            {"id": main.id},
        )
        assert web() == (["dev", "main"], 2)
        session.execute(text("delete from runs where id = :id"), {"id": dev.id})
        assert web() == (["main"], 1)
        session.execute(text("update runs set branch = 'dev' where id = :id"), {"id": main.id})
        assert web() == (["dev"], 1)
        assert_rollups_exact(session)
