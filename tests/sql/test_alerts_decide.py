"""The alert decision in the writing transaction (runs_decide_alerts, alert_decide): given runs,
expect alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import ingest

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def run(session: Session, status: str, minute: int, **fields: Any) -> int:
    fields.setdefault("branch", "main")
    stored = ingest(
        session,
        pipeline=fields.pop("pipeline", "web"),
        status=status,
        started_at=T0 + timedelta(minutes=minute),
        duration_sec=None if status == "running" else 30,
        commit=fields.pop("commit", f"c{minute:04d}"),
        **fields,
    )
    return stored.id


def alerts(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "select alerts.id, kind, pipelines.name as pipeline, branch, run_id, thread_id,"
            " state, facts from alerts join pipelines on pipelines.id = alerts.pipeline_id"
            " order by alerts.id"
        )
    ).mappings()
    return [dict(row) for row in rows]


def configure(session: Session, **values: Any) -> None:
    for column, value in values.items():
        session.execute(text(f"update alert_settings set {column} = :value"), {"value": value})


class TestTransitions:
    def test_red_mails_once_then_green_says_so_in_the_same_thread(self, session: Session) -> None:
        run(session, "success", 0, commit="green1")
        assert alerts(session) == []
        first_failure = run(session, "failure", 10)
        run(session, "failure", 20)
        run(session, "failure", 30)
        failing = alerts(session)
        assert [(a["kind"], a["run_id"]) for a in failing] == [("failing", first_failure)]
        facts = failing[0]["facts"]
        assert facts["pipeline"] == "web"
        assert facts["branch"] == "main"
        assert facts["run"]["commit"] == "c0010"
        assert facts["failure_streak"] == 1
        assert facts["last_green_commit"] == "green1"
        assert failing[0]["thread_id"] == failing[0]["id"]
        recovering = run(session, "success", 40)
        kinds = alerts(session)
        assert [a["kind"] for a in kinds] == ["failing", "recovered"]
        recovered = kinds[1]
        assert (recovered["run_id"], recovered["thread_id"]) == (recovering, failing[0]["id"])
        assert recovered["facts"]["failure_streak"] == 3
        assert recovered["facts"]["red_for_sec"] == 30 * 60.0

    def test_a_new_pipeline_whose_first_decided_run_fails_counts(self, session: Session) -> None:
        run(session, "running", 0, external_id="x")
        run(session, "cancelled", 1)
        run(session, "failure", 2)
        assert [a["kind"] for a in alerts(session)] == ["failing"]

    def test_a_reminder_when_it_stays_red_and_keeps_failing(self, session: Session) -> None:
        run(session, "failure", 0)
        run(session, "failure", 5)
        assert [a["kind"] for a in alerts(session)] == ["failing"]
        session.execute(text("update alert_states set last_alert_at = now() - interval '31 min'"))
        run(session, "failure", 10)
        run(session, "failure", 15)
        kinds = alerts(session)
        assert [a["kind"] for a in kinds] == ["failing", "reminder"]
        assert kinds[1]["thread_id"] == kinds[0]["id"]
        configure(session, reminder_min=0)
        session.execute(text("update alert_states set last_alert_at = now() - interval '9 days'"))
        run(session, "failure", 20)
        assert len(alerts(session)) == 2

    def test_every_failure_under_policy_every_and_recoveries_still(self, session: Session) -> None:
        configure(session, policy="every")
        run(session, "failure", 0)
        run(session, "failure", 5)
        run(session, "failure", 6)
        run(session, "success", 7)
        assert [a["kind"] for a in alerts(session)] == [
            "failing",
            "failure",
            "failure",
            "recovered",
        ]


class TestWhatDoesNotAlert:
    def test_feature_branches_and_simulated_runs(self, session: Session) -> None:
        run(session, "success", 0)
        run(session, "failure", 1, branch="feat/x")
        run(session, "failure", 2, source="simulator", external_id="sim-1")
        assert alerts(session) == []
        # Simulated runs do not change the state either: a real failure is a transition.
        run(session, "failure", 3)
        assert [a["kind"] for a in alerts(session)] == ["failing"]

    def test_simulated_runs_alert_when_asked_and_every_branch_with_a_star(
        self, session: Session
    ) -> None:
        configure(session, simulated=True, branches=None)
        run(session, "failure", 1, branch="feat/x", source="simulator", external_id="sim-2")
        assert [(a["kind"], a["branch"]) for a in alerts(session)] == [("failing", "feat/x")]

    def test_a_late_failure_behind_a_newer_success_changes_nothing(self, session: Session) -> None:
        run(session, "success", 30)
        # Started and finished before the success: by finished_at it is not the latest.
        run(session, "failure", 10)
        assert alerts(session) == []


class TestCorrections:
    def test_a_corrected_result_recovers(self, session: Session) -> None:
        run(session, "success", 0)
        run(session, "failure", 5, external_id="r-9", source="ci")
        ingest(
            session,
            pipeline="web",
            status="success",
            external_id="r-9",
            source="ci",
            finished_at=T0 + timedelta(minutes=5, seconds=40),
        )
        assert [a["kind"] for a in alerts(session)] == ["failing", "recovered"]

    def test_a_correction_that_leaves_the_state_alerts_nothing(self, session: Session) -> None:
        run(session, "failure", 0, external_id="r-1", source="ci")
        before = len(alerts(session))
        ingest(
            session,
            pipeline="web",
            status="failure",
            external_id="r-1",
            source="ci",
            finished_at=T0 + timedelta(minutes=1),
        )
        assert len(alerts(session)) == before

    def test_a_run_moved_to_another_branch_re_decides_both(self, session: Session) -> None:
        configure(session, branches=["main", "release"])
        run_id = run(session, "failure", 0)
        session.execute(text("update runs set branch = 'release' where id = :id"), {"id": run_id})
        got = [(a["kind"], a["branch"]) for a in alerts(session)]
        assert got == [("failing", "main"), ("recovered", "main"), ("failing", "release")]


class TestAnnounced:
    def test_notified_on_commit(self, db_url: str) -> None:
        with psycopg.connect(db_url, autocommit=True) as listener:
            listener.execute("listen pulse_alerts")
            with psycopg.connect(db_url) as writer:
                writer.execute(
                    "select ingest_run('web', 'failure', now() - interval '1 min', null, 10,"
                    " 'main', 'c', 'me', 'api', null, null, null, null)"
                )
            notes = list(listener.notifies(timeout=10, stop_after=1))
        assert len(notes) == 1
        with psycopg.connect(db_url) as conn:
            assert conn.execute("select id from alerts").fetchone() == (int(notes[0].payload),)


class TestFastPath:
    def test_the_states_equal_a_decision_from_scratch(self, session: Session) -> None:
        import random

        rng = random.Random(7)
        configure(session, branches=["main", "dev"], reminder_min=0)
        for i in range(300):
            status = rng.choice(["success", "failure", "failure", "cancelled", "running"])
            fields: dict[str, Any] = {"branch": rng.choice(["main", "dev"])}
            if rng.random() < 0.3:  # a key seen before: a completion or a correction
                fields.update(external_id=f"k-{rng.randrange(40)}", source="ci")
            # Mostly in order, now and then a late one.
            minute = i if rng.random() < 0.85 else rng.randrange(max(i, 1))
            try:
                with session.begin_nested():
                    run(session, status, minute, pipeline=rng.choice(["web", "api"]), **fields)
            except Exception:  # noqa: S112 (a key moved to another branch: a 409 here)
                continue
        columns = "pipeline_id, branch, state, failing_since, failures, latest_run_id"
        kept = session.execute(text(f"select {columns} from alert_states order by 1, 2")).all()
        assert kept
        session.execute(text("delete from alert_states"))
        session.execute(
            text(
                "select alert_decide(pipeline_id, branch, false,"
                " (select s from alert_settings s), null)"
                " from (select distinct pipeline_id, branch from runs) as scopes"
                " where branch in ('main', 'dev')"
            )
        )
        fresh = session.execute(text(f"select {columns} from alert_states order by 1, 2")).all()
        assert fresh == kept


class TestLastAlertOfAPipeline:
    def test_get_pipelines_names_it(self, session: Session) -> None:
        import analytics

        run(session, "success", 0)
        assert analytics.pipelines(session)[0].last_alert is None
        run(session, "failure", 1)
        last = analytics.pipelines(session)[0].last_alert
        assert last is not None
        assert (last.kind, last.branch, last.state, last.sent_at) == (
            "failing",
            "main",
            "pending",
            None,
        )
