"""Alert rows written straight to the table, as the trigger on `runs` would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg

_INSERT = """
    with new as (select nextval(pg_get_serial_sequence('alerts', 'id')) as id)
    insert into alerts (id, thread_id, kind, pipeline_id, branch, run_id, facts, created_at,
        attempts, next_attempt_at)
    overriding system value
    select new.id, coalesce(%(thread_id)s, new.id), %(kind)s, %(pipeline_id)s, %(branch)s, null,
        %(facts)s, now() - %(age)s, %(attempts)s, now() - %(age)s
    from new
    returning id
"""


def pipeline_id(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute(
        "insert into pipelines (name) values (%s) on conflict (name) do update set name = "
        "excluded.name returning id",
        (name,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_alert(
    url: str,
    *,
    kind: str = "failing",
    pipeline: str = "web",
    branch: str = "main",
    thread_id: int | None = None,
    age: timedelta = timedelta(0),
    attempts: int = 0,
    notify: bool = True,
) -> int:
    facts = {
        "pipeline": pipeline,
        "branch": branch,
        "run": {"id": 1, "status": "failure", "commit": "5184f9c", "triggered_by": "octocat"},
        "failing_since": "2025-08-25T20:03:00+00:00",
        "failure_streak": 1,
        "last_green_commit": "0a1b2c3",
    }
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            _INSERT,
            {
                "thread_id": thread_id,
                "kind": kind,
                "pipeline_id": pipeline_id(conn, pipeline),
                "branch": branch,
                "facts": json.dumps(facts),
                "age": age,
                "attempts": attempts,
            },
        ).fetchone()
        assert row is not None
        if notify:
            conn.execute("select pg_notify('pulse_alerts', %s)", (str(row[0]),))
        return int(row[0])


def alert_row(url: str, alert_id: int) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute("select * from alerts where id = %s", (alert_id,)).fetchone()
    assert row is not None
    return row


def attempts_of(url: str, alert_id: int) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select outcome::text, detail from alert_attempts where alert_id = %s order by id",
            (alert_id,),
        ).fetchall()
    return [(str(outcome), str(detail)) for outcome, detail in rows]
