"""Removing runs and pipelines: the rollups, recoveries and daily history follow exactly."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest_api.db import make_engine
from ingest_api.pipelines import service as pipelines_service
from ingest_api.runs import service as runs_service
from ingest_api.runs.schemas import RunEvent
from tests.factories import event_body, ingest
from tests.rollup_checks import assert_rollups_exact
from tests.sql.test_history import daily, generate_history, refresh
from tests.support import wait_for

VIEWS = ("daily_pipeline_history", "daily_branch_history")


def _history_is_exact(session: Session) -> None:
    refresh(session)
    incremental = {view: daily(session, view) for view in VIEWS}
    refresh(session, full=True)
    assert incremental == {view: daily(session, view) for view in VIEWS}


def _count(session: Session, where: str = "true") -> int:
    return int(
        session.execute(text(f"select count(*) from runs_staged where {where}")).scalar_one()
    )


class TestDeleteRun:
    def test_one_run_through_the_triggers(self, session: Session) -> None:
        generate_history(session, random.Random(21), runs=150)
        refresh(session)
        # A decided run in the middle of failure episodes: recoveries around it move.
        run_id = session.execute(
            text(
                "select run_id from runs_staged where is_decided"
                " order by started_at limit 1 offset 40"
            )
        ).scalar_one()
        removed = runs_service.delete_run(session, run_id)
        assert removed is not None
        assert removed.id == run_id
        assert runs_service.delete_run(session, run_id) is None
        assert _count(session, f"run_id = {run_id}") == 0
        assert_rollups_exact(session)
        _history_is_exact(session)


class TestDeleteRuns:
    def test_by_source_and_time_rebuilds_once(self, session: Session) -> None:
        generate_history(session, random.Random(22), runs=200)
        generate_history(session, random.Random(23), runs=40, prefix="other")
        session.execute(text("update runs set source = 'old-ci' where external_id like 'other-%'"))
        refresh(session)
        cut = datetime(2026, 11, 25, tzinfo=UTC)
        expected = _count(session, f"source = 'old-ci' and started_at < '{cut.isoformat()}'")
        assert expected > 0
        dry = runs_service.delete_runs(session, source="old-ci", before=cut, dry_run=True)
        assert sum(dry.values()) == expected
        assert _count(session, "source = 'old-ci'") == 40  # a dry run removes nothing
        done = runs_service.delete_runs(session, source="old-ci", before=cut)
        assert done == dry
        assert _count(session, f"source = 'old-ci' and started_at < '{cut.isoformat()}'") == 0
        assert _count(session, "source = 'old-ci'") == 40 - expected
        assert_rollups_exact(session)
        _history_is_exact(session)

    def test_one_pipeline_whole(self, session: Session) -> None:
        generate_history(session, random.Random(24), runs=120)
        p1 = _count(session, "pipeline = 'p1'")
        assert runs_service.delete_runs(session, pipeline="p1") == {"p1": p1}
        assert _count(session, "pipeline = 'p1'") == 0
        assert _count(session) == 120 - p1
        assert_rollups_exact(session)
        _history_is_exact(session)


class TestDeletePipeline:
    def test_everything_of_it_goes_and_nothing_else(self, session: Session) -> None:
        generate_history(session, random.Random(25), runs=150)
        refresh(session)
        p2 = _count(session, "pipeline = 'p2'")
        assert pipelines_service.delete_pipeline(session, "p2") == p2
        assert pipelines_service.delete_pipeline(session, "p2") is None
        pipeline_tables = (
            "pipeline_hour_totals",
            "branch_hour_totals",
            "recovery_totals",
            "recoveries",
            "history_pipeline_days",
            "history_branch_days",
            "health_snapshot",
            "history_changes",
        )
        for table in pipeline_tables:
            orphans = session.execute(
                text(
                    f"select count(*) from {table}"
                    " where pipeline_id not in (select id from pipelines)"
                )
            ).scalar_one()
            assert orphans == 0, table
        assert "p2" not in {row[0] for row in session.execute(text("select name from pipelines"))}
        assert_rollups_exact(session)
        _history_is_exact(session)


class TestDeleteWhileIngesting:
    def test_an_ingest_waiting_on_the_lock_starts_the_pipeline_afresh(self, db_url: str) -> None:
        engine = make_engine(db_url, pool_size=2)
        with Session(engine) as first, first.begin():
            ingest(first, pipeline="web", duration_sec=1)
        done: list[int] = []
        with psycopg.connect(db_url) as deleting:
            assert deleting.execute("select delete_pipeline('web')").fetchone() == (1,)

            def writer() -> None:
                with Session(engine) as session, session.begin():
                    run = runs_service.ingest(
                        session, RunEvent.model_validate(event_body(duration_sec=2))
                    )
                    done.append(run.id)

            thread = threading.Thread(target=writer)
            thread.start()
            # The writer waits on the pipeline's lock, held by the uncommitted delete.
            wait_for(
                lambda: (
                    deleting.execute(
                        "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                    ).fetchone()
                    == (1,)
                )
            )
            deleting.commit()
            thread.join(30)
        assert len(done) == 1
        with engine.connect() as conn:
            rows = conn.execute(text("select name, (select count(*) from runs) from pipelines"))
            assert rows.all() == [("web", 1)]
        engine.dispose()
