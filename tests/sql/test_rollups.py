"""The rollup triggers, path by path; rebuild_rollups; window_spans."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.factories import ingest
from tests.rollup_checks import assert_rollups_exact

T0 = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # an hour, a day and a month boundary near


def rollup(session: Session, grain: str, bucket: datetime) -> dict[str, object]:
    row = session.execute(
        text(
            "select running, success, failure, cancelled, skipped, decided_duration_ms,"
            " duration_hist from run_rollups where grain = :grain and bucket_start = :bucket"
        ),
        {"grain": grain, "bucket": bucket},
    ).mappings()
    found = [dict(r) for r in row]
    return found[0] if found else {}


class TestTriggerPaths:
    def test_insert(self, session: Session) -> None:
        run = ingest(session, started_at=T0, duration_sec=90.5)
        hour = rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))
        assert (hour["success"], hour["decided_duration_ms"]) == (1, 90500)
        hist = hour["duration_hist"]
        assert isinstance(hist, list)
        assert sum(hist) == 1
        assert rollup(session, "day", datetime(2026, 10, 31, tzinfo=UTC))["success"] == 1
        assert rollup(session, "month", datetime(2026, 10, 1, tzinfo=UTC))["success"] == 1
        assert run.id
        assert_rollups_exact(session)

    @pytest.mark.parametrize("result", ["success", "failure", "cancelled", "skipped"])
    def test_running_to_each_result(self, session: Session, result: str) -> None:
        ingest(session, status="running", started_at=T0, external_id="r")
        assert rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))["running"] == 1
        ingest(session, status=result, duration_sec=60, external_id="r", branch=None)
        hour = rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))
        assert (hour["running"], hour[result]) == (0, 1)
        decided = result in {"success", "failure"}
        assert hour["decided_duration_ms"] == (60000 if decided else 0)
        assert_rollups_exact(session)

    def test_corrected_result(self, session: Session) -> None:
        ingest(session, status="failure", started_at=T0, duration_sec=10, external_id="c")
        ingest(session, status="success", started_at=T0, duration_sec=12, external_id="c")
        hour = rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))
        assert (hour["failure"], hour["success"], hour["decided_duration_ms"]) == (0, 1, 12000)
        assert_rollups_exact(session)

    def test_started_at_moves_across_hour_day_and_month(self, session: Session) -> None:
        ingest(session, status="running", started_at=T0, external_id="m")
        later = T0 + timedelta(hours=1)  # 2026-11-01 00:30: another hour, day and month
        ingest(session, status="success", started_at=later, duration_sec=5, external_id="m")
        for grain, old, new in [
            ("hour", datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 1, 0, tzinfo=UTC)),
            ("day", datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
            ("month", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        ]:
            assert rollup(session, grain, old)["running"] == 0
            assert rollup(session, grain, new)["success"] == 1
        assert_rollups_exact(session)

    def test_delete(self, session: Session) -> None:
        run = ingest(session, status="failure", started_at=T0, duration_sec=30)
        ingest(session, status="success", started_at=T0 + timedelta(minutes=5), duration_sec=3)
        session.execute(text("delete from runs where id = :id"), {"id": run.id})
        hour = rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))
        assert (hour["failure"], hour["success"], hour["decided_duration_ms"]) == (0, 1, 3000)
        assert_rollups_exact(session)

    def test_other_columns_do_not_touch_rollups(self, session: Session) -> None:
        run = ingest(session, started_at=T0, duration_sec=30)
        before = rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC))
        session.execute(
            text("update runs set url = 'https://ci.example/1', commit = 'x' where id = :id"),
            {"id": run.id},
        )
        assert rollup(session, "hour", datetime(2026, 10, 31, 23, tzinfo=UTC)) == before


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


class TestWindowSpans:
    def test_spans_tile_the_interval(self, session: Session) -> None:
        rng = random.Random(3)
        for _ in range(200):
            lo = T0 - timedelta(minutes=rng.uniform(0, 600_000))
            hi = lo + timedelta(minutes=rng.choice([1, 59, 61, 1440, 43200, 525600]) * rng.random())
            spans = session.execute(
                text("select grain, lo, hi from window_spans(:lo, :hi) order by lo"),
                {"lo": lo, "hi": hi},
            ).all()
            if lo >= hi:
                assert spans == []
                continue
            assert spans[0].lo == lo
            assert spans[-1].hi == hi
            for before, after in itertools.pairwise(spans):
                assert before.hi == after.lo
            for span in spans:
                assert span.lo < span.hi
                if span.grain != "raw":
                    assert span.lo == span.lo.replace(minute=0, second=0, microsecond=0)
            assert sum(s.grain == "raw" for s in spans) <= 2
