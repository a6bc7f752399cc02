"""The write path's rules (sql/functions/ingest_run, run_timing), through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ingest_api import errors
from tests.factories import ingest

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def db_now(session: Session) -> datetime:
    value = session.execute(text("select now()")).scalar_one()
    assert isinstance(value, datetime)
    return value


def rejected(session: Session, **fields: Any) -> errors.PulseError:
    """Ingest expecting a rejection; returns the API error it maps to."""
    with pytest.raises(DBAPIError) as caught, session.begin_nested():
        ingest(session, **fields)
    mapped = errors.from_database(caught.value)
    assert mapped is not None
    return mapped


def row(session: Session, run_id: int) -> dict[str, Any]:
    result = session.execute(text("select * from runs where id = :id"), {"id": run_id})
    return dict(result.mappings().one())


def count_runs(session: Session) -> int:
    return int(session.execute(text("select count(*) from runs")).scalar_one())


class TestTiming:
    def test_all_three_given_are_kept(self, session: Session) -> None:
        run = ingest(
            session, started_at=T0, finished_at=T0 + timedelta(seconds=7), duration_sec=7.5
        )
        assert (run.started_at, run.finished_at, run.duration_sec) == (
            T0,
            T0 + timedelta(seconds=7),
            7.5,
        )

    def test_finished_from_started_plus_duration(self, session: Session) -> None:
        run = ingest(session, started_at=T0, duration_sec=90.25)
        assert run.finished_at == T0 + timedelta(seconds=90.25)

    def test_finished_defaults_to_receipt(self, session: Session) -> None:
        start = db_now(session) - timedelta(minutes=3)
        run = ingest(session, started_at=start)
        assert run.finished_at == db_now(session)
        assert run.duration_sec == pytest.approx(180.0)

    def test_started_from_finished_minus_duration(self, session: Session) -> None:
        run = ingest(session, finished_at=T0, duration_sec=60)
        assert run.started_at == T0 - timedelta(seconds=60)

    def test_started_defaults_to_finished(self, session: Session) -> None:
        run = ingest(session, finished_at=T0)
        assert (run.started_at, run.duration_sec) == (T0, 0.0)

    def test_only_duration_ends_now(self, session: Session) -> None:
        run = ingest(session, duration_sec=42)
        now = db_now(session)
        assert (run.started_at, run.finished_at) == (now - timedelta(seconds=42), now)

    def test_duration_from_timestamps(self, session: Session) -> None:
        run = ingest(session, started_at=T0, finished_at=T0 + timedelta(milliseconds=1500))
        assert run.duration_sec == 1.5

    def test_durations_are_kept_to_the_millisecond(self, session: Session) -> None:
        assert ingest(session, started_at=T0, duration_sec=1.23456).duration_sec == 1.235
        derived = ingest(session, started_at=T0, finished_at=T0 + timedelta(microseconds=2_500_600))
        assert derived.duration_sec == 2.501

    def test_disagreement_within_one_second_is_accepted(self, session: Session) -> None:
        run = ingest(
            session, started_at=T0, finished_at=T0 + timedelta(seconds=10), duration_sec=10.9
        )
        assert run.duration_sec == 10.9

    def test_disagreement_over_one_second_is_rejected(self, session: Session) -> None:
        error = rejected(
            session, started_at=T0, finished_at=T0 + timedelta(seconds=10), duration_sec=12
        )
        assert isinstance(error, errors.ValidationFailed)
        assert error.detail[0]["field"] == "duration_sec"  # type: ignore[index]
        assert count_runs(session) == 0

    def test_finished_before_started_is_rejected(self, session: Session) -> None:
        error = rejected(session, started_at=T0, finished_at=T0 - timedelta(seconds=1))
        assert error.detail == [
            {"field": "finished_at", "message": "finished_at is before started_at"}
        ]

    @pytest.mark.parametrize("field", ["started_at", "finished_at"])
    def test_more_than_five_minutes_ahead_is_rejected(self, session: Session, field: str) -> None:
        ahead = db_now(session) + timedelta(minutes=5, seconds=30)
        fields: dict[str, Any] = {field: ahead}
        if field == "started_at":
            fields["finished_at"] = ahead + timedelta(seconds=1)
        error = rejected(session, **fields)
        assert error.detail[0]["field"] == field  # type: ignore[index]

    def test_derived_finish_in_the_future_is_rejected(self, session: Session) -> None:
        error = rejected(session, started_at=db_now(session), duration_sec=3600)
        assert error.detail[0]["field"] == "finished_at"  # type: ignore[index]

    def test_a_little_ahead_is_accepted(self, session: Session) -> None:
        ahead = db_now(session) + timedelta(minutes=4)
        run = ingest(session, started_at=ahead - timedelta(seconds=5), finished_at=ahead)
        assert run.finished_at == ahead

    def test_running_defaults_started_to_receipt(self, session: Session) -> None:
        run = ingest(session, status="running")
        assert (run.started_at, run.finished_at, run.duration_sec) == (db_now(session), None, None)

    @pytest.mark.parametrize(("field", "value"), [("finished_at", T0), ("duration_sec", 5.0)])
    def test_running_with_a_result_time_is_rejected(
        self, session: Session, field: str, value: Any
    ) -> None:
        error = rejected(session, status="running", **{field: value})
        assert error.detail[0]["field"] == field  # type: ignore[index]


class TestIdentity:
    def test_without_external_id_every_event_is_new(self, session: Session) -> None:
        first = ingest(session, started_at=T0, duration_sec=1)
        second = ingest(session, started_at=T0, duration_sec=1)
        assert first.id != second.id
        assert count_runs(session) == 2

    def test_running_then_success_completes_the_run(self, session: Session) -> None:
        started = ingest(
            session,
            status="running",
            started_at=T0,
            external_id="42-1",
            source="github",
            url="https://ci.example/runs/42",
        )
        done = ingest(
            session,
            status="success",
            finished_at=T0 + timedelta(seconds=30),
            external_id="42-1",
            source="github",
            branch=None,
            commit=None,
            triggered_by=None,
        )
        assert done.id == started.id
        assert (done.status, done.started_at, done.duration_sec) == ("success", T0, 30.0)
        # Fields the completing event left out keep their stored values.
        assert (done.branch, done.commit, done.url) == (
            started.branch,
            started.commit,
            "https://ci.example/runs/42",
        )
        assert count_runs(session) == 1

    def test_late_running_event_is_ignored(self, session: Session) -> None:
        done = ingest(session, started_at=T0, duration_sec=30, external_id="7")
        before = row(session, done.id)
        late = ingest(session, status="running", started_at=T0, external_id="7")
        assert late.status == "success"
        assert row(session, done.id) == before

    def test_later_result_corrects_the_earlier(self, session: Session) -> None:
        first = ingest(session, status="failure", started_at=T0, duration_sec=30, external_id="9")
        fixed = ingest(session, status="success", started_at=T0, duration_sec=40, external_id="9")
        assert (fixed.id, fixed.status, fixed.duration_sec) == (first.id, "success", 40.0)

    def test_earlier_result_arriving_late_is_ignored(self, session: Session) -> None:
        newer = ingest(session, status="success", started_at=T0, duration_sec=40, external_id="9")
        stale = ingest(session, status="failure", started_at=T0, duration_sec=30, external_id="9")
        assert (stale.status, stale.duration_sec) == ("success", 40.0)
        assert row(session, newer.id)["status"] == "success"

    def test_correction_without_timing_keeps_the_stored_timing(self, session: Session) -> None:
        first = ingest(session, status="failure", started_at=T0, duration_sec=30, external_id="c")
        fixed = ingest(session, status="success", external_id="c", branch=None)
        assert (fixed.status, fixed.started_at, fixed.finished_at) == (
            "success",
            first.started_at,
            first.finished_at,
        )

    def test_identical_repeat_changes_nothing(self, session: Session) -> None:
        first = ingest(session, started_at=T0, duration_sec=5, external_id="same")
        session.execute(
            text("update runs set updated_at = updated_at - interval '1 hour' where id = :id"),
            {"id": first.id},
        )
        before = row(session, first.id)
        again = ingest(session, started_at=T0, duration_sec=5, external_id="same")
        assert again == first
        assert row(session, first.id) == before

    def test_update_moves_updated_at(self, session: Session) -> None:
        first = ingest(session, status="running", started_at=T0, external_id="u")
        session.execute(
            text("update runs set updated_at = updated_at - interval '1 hour' where id = :id"),
            {"id": first.id},
        )
        ingest(session, started_at=T0, duration_sec=5, external_id="u")
        assert row(session, first.id)["updated_at"] == db_now(session)

    def test_same_key_other_pipeline_is_a_conflict(self, session: Session) -> None:
        ingest(session, pipeline="web", duration_sec=1, external_id="k")
        error = rejected(session, pipeline="brand-new", duration_sec=1, external_id="k")
        assert isinstance(error, errors.Conflict)
        assert "web" in str(error.detail)
        # Nothing half-written: the clashing event did not even create its pipeline.
        names = session.execute(text("select name from pipelines")).scalars().all()
        assert names == ["web"]

    def test_key_is_per_source(self, session: Session) -> None:
        a = ingest(session, duration_sec=1, external_id="1", source="github")
        b = ingest(session, duration_sec=1, external_id="1", source="gitlab")
        assert a.id != b.id

    def test_completion_that_disagrees_with_stored_start_is_rejected(
        self, session: Session
    ) -> None:
        ingest(session, status="running", started_at=T0, external_id="d")
        error = rejected(
            session, finished_at=T0 + timedelta(seconds=30), duration_sec=10, external_id="d"
        )
        assert error.detail[0]["field"] == "duration_sec"  # type: ignore[index]
        assert row_status(session, "d") == "running"


def row_status(session: Session, external_id: str) -> str:
    return str(
        session.execute(
            text("select status from runs where external_id = :e"), {"e": external_id}
        ).scalar_one()
    )
