"""`pulse import`: runs in bulk (ingest_api/runs/bulk.py with import_runs, import_runs_finish and
import_problems), checked against the per-event path: the same rules, exact rollups and daily
history, nothing written when a line is refused, other pipelines' ingest going on meanwhile."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from ingest_api.db import make_engine
from ingest_api.runs import bulk
from ingest_api.runs.schemas import RunEvent
from tests.factories import event_body
from tests.rollup_checks import assert_rollups_exact
from tests.sql.test_history import daily, refresh

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
VIEWS = ("daily_pipeline_history", "daily_branch_history")
TABLES = (
    "pipelines",
    "runs",
    "pipeline_hour_totals",
    "branch_hour_totals",
    "recoveries",
    "recovery_totals",
    "history_changes",
    "alert_states",
    "alerts",
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, pool_size=2)
    yield engine
    engine.dispose()


def _jsonl(bodies: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(body).encode() + b"\n" for body in bodies)


def _load(db_url: str, data: bytes, file_format: str = "jsonl") -> bulk.ImportResult:
    events = bulk.read_events(io.BytesIO(data), bulk.FileFormat(file_format))
    with psycopg.connect(db_url, autocommit=True) as conn:
        return bulk.import_runs(conn, events)


def _history(rng: random.Random, count: int, prefix: str = "r") -> list[dict[str, Any]]:
    """Random finished and running runs of three pipelines over ten days, some with keys."""
    bodies = []
    for i in range(count):
        started = T0 - timedelta(minutes=rng.randrange(10 * 24 * 60))
        status = rng.choice(["success", "success", "failure", "cancelled", "skipped", "running"])
        body = event_body(
            pipeline=f"p{1 + i % 3}",  # a key keeps its pipeline across calls
            status=status,
            started_at=started,
            duration_sec=None if status == "running" else round(rng.uniform(1, 900), 3),
            branch=rng.choice(["main", "dev", "feat/x"]),
            external_id=f"{prefix}-{i}" if rng.random() < 0.7 else None,
        )
        bodies.append(body)
    return bodies


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            table: sorted(map(repr, conn.execute(text(f"select * from {table}")).all()))
            for table in TABLES
        }


def _runs(engine: Engine) -> list[tuple[Any, ...]]:
    query = """
        select pipelines.name, runs.source, runs.external_id, runs.status, runs.started_at,
            runs.finished_at, runs.duration_sec, runs.branch, runs.commit, runs.triggered_by,
            runs.url
        from runs join pipelines on pipelines.id = runs.pipeline_id
        order by runs.source, runs.external_id, runs.started_at, runs.status
    """
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query)).all()]


def _assert_exact(engine: Engine) -> None:
    with engine.begin() as conn:
        assert_rollups_exact(conn)
        refresh(conn)
        incremental = {view: daily(conn, view) for view in VIEWS}
        refresh(conn, full=True)
        assert incremental == {view: daily(conn, view) for view in VIEWS}
        assert daily(conn, "daily_pipeline_history")


class TestImport:
    def test_json_lines_are_the_runs_the_api_would_store(
        self, db_url: str, engine: Engine, fresh_database: Any
    ) -> None:
        bodies = _history(random.Random(7), 300)
        result = _load(db_url, _jsonl(bodies))
        assert (result.lines, result.inserted, result.repeats, result.pipelines) == (
            300,
            300,
            0,
            3,
        )
        _assert_exact(engine)
        # The same events one by one through ingest_run, in another database.
        other = make_engine(str(fresh_database()), pool_size=1)
        try:
            with other.begin() as conn:
                for body in bodies:
                    event = RunEvent.model_validate(body)
                    conn.exec_driver_sql(
                        "select ingest_run(%(pipeline)s, %(status)s::run_status, "
                        "%(started_at)s, %(finished_at)s, %(duration_sec)s, %(branch)s, "
                        "%(commit)s, %(triggered_by)s, %(source)s, %(external_id)s, %(url)s, "
                        "%(attempt)s, %(conclusion)s)",
                        event.model_dump(),
                    )
            assert _runs(engine) == _runs(other)
        finally:
            other.dispose()

    def test_csv_with_the_same_columns(self, db_url: str, engine: Engine) -> None:
        out = io.StringIO()
        columns = ["pipeline", "status", "started_at", "duration_sec", "branch", "commit",
                   "triggered_by", "external_id", "extra"]  # fmt: skip
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerow(["web", "success", "2026-11-20T10:00:00Z", "7", "main", "abc", "ada",
                         "1", "ignored"])  # fmt: skip
        writer.writerow(["web", "failure", "2026-11-20T11:00:00Z", "", "main", "", "", "", ""])
        writer.writerow(["web", "running", "2026-11-20T12:00:00Z", "", "dev", "", "", "", ""])
        # As spreadsheets save it: with a byte-order mark.
        result = _load(db_url, ("\ufeff" + out.getvalue()).encode(), "csv")
        assert (result.lines, result.inserted) == (3, 3)
        runs = _runs(engine)
        assert [(r[2], r[3], r[7]) for r in runs] == [
            ("1", "success", "main"),
            (None, "failure", "main"),
            (None, "running", "dev"),
        ]
        assert runs[0][6] == 7.0
        assert runs[0][8:10] == ("abc", "ada")
        assert runs[1][5] is not None  # no duration, no finish: it finished on receipt
        _assert_exact(engine)

    def test_a_refused_line_is_numbered_and_nothing_is_written(
        self, db_url: str, engine: Engine
    ) -> None:
        _load(db_url, _jsonl(_history(random.Random(8), 50)))
        before = _snapshot(engine)
        lines = _jsonl(_history(random.Random(9), 20, prefix="new")).splitlines()
        lines[3] = b'{"pipeline": "web", "status": "success", "duration_sec": -1}'
        lines[7] = b"{not json"
        lines.insert(10, b"")  # blank lines count in the numbering
        with pytest.raises(bulk.Rejected) as refused:
            _load(db_url, b"\n".join(lines) + b"\n")
        assert [(p.line, p.field) for p in refused.value.problems] == [
            (4, "duration_sec"),
            (8, "line"),
        ]
        assert "malformed JSON" in refused.value.problems[1].message
        assert _snapshot(engine) == before

    def test_csv_lines_are_numbered_as_an_editor_numbers_them(
        self, db_url: str, engine: Engine
    ) -> None:
        data = (
            b"pipeline,status,duration_sec\n"
            b"web,success,5\n"
            b'"two\nlines",success,1\n'
            b"w\xffb,success,5\n"
            b"\n"
            b"web,bogus,1\n"
        )
        with pytest.raises(bulk.Rejected) as refused:
            _load(db_url, data, "csv")
        assert [(p.line, p.field) for p in refused.value.problems] == [
            (5, "line"),
            (7, "status"),
        ]
        assert refused.value.problems[0].message == "not UTF-8"
        assert _runs(engine) == []

    def test_the_databases_refusals_are_numbered_too(self, db_url: str, engine: Engine) -> None:
        _load(db_url, _jsonl([event_body(pipeline="web", external_id="k1", duration_sec=5)]))
        before = _snapshot(engine)
        bodies = [
            event_body(pipeline="api", duration_sec=3),
            event_body(
                pipeline="api",
                started_at="2026-11-20T10:00:00Z",
                finished_at="2026-11-20T09:00:00Z",
            ),
            event_body(pipeline="api", external_id="k1", duration_sec=5),  # k1 is web's
            event_body(pipeline="api", started_at="2099-01-01T00:00:00Z", status="running"),
        ]
        with pytest.raises(bulk.Rejected) as refused:
            _load(db_url, _jsonl(bodies))
        assert [(p.line, p.field) for p in refused.value.problems] == [
            (2, "finished_at"),
            (3, "pipeline"),
            (4, "started_at"),
        ]
        assert "belongs to pipeline web" in refused.value.problems[1].message
        assert _snapshot(engine) == before

    def test_repeats_and_stored_runs_follow_the_identity_rules(
        self, db_url: str, engine: Engine
    ) -> None:
        start = "2026-11-20T10:00:00Z"
        _load(
            db_url,
            _jsonl(
                [
                    event_body(external_id="a", status="running", started_at=start),
                    event_body(external_id="b", started_at=start, duration_sec=60),
                ]
            ),
        )
        result = _load(
            db_url,
            _jsonl(
                [
                    # a stored running run completed; fields left out keep their values
                    event_body(external_id="a", status="failure", duration_sec=30, branch=None),
                    # a late `running` for a finished run changes nothing
                    event_body(external_id="b", status="running", started_at=start),
                    # twice in the file: running, then its result
                    event_body(external_id="c", status="running", started_at=start),
                    event_body(external_id="c", started_at=start, duration_sec=5),
                    # an earlier result arriving after a later one is ignored
                    event_body(external_id="d", started_at=start, duration_sec=50),
                    event_body(
                        external_id="d", status="failure", started_at=start, duration_sec=10
                    ),
                    # without external_id every line is a run
                    event_body(started_at=start, duration_sec=1),
                    event_body(started_at=start, duration_sec=1),
                ]
            ),
        )
        assert (result.inserted, result.repeats) == (4, 4)
        stored = {r[2]: r for r in _runs(engine)}
        assert stored["a"][3] == "failure"
        assert stored["a"][7] == "main"
        assert stored["a"][6] == 30.0
        assert stored["b"][3] == "success"
        assert stored["c"][3] == "success"
        assert stored["d"][3] == "success"
        assert stored["d"][6] == 50.0
        assert sum(r[2] is None for r in _runs(engine)) == 2
        _assert_exact(engine)

    def test_imports_into_a_live_history_stay_exact(self, db_url: str, engine: Engine) -> None:
        rng = random.Random(10)
        _load(db_url, _jsonl(_history(rng, 200)))
        # Corrections of stored runs, new runs between them, repeats: all at once.
        bodies = _history(rng, 150, prefix="r") + _history(rng, 100, prefix="s")
        rng.shuffle(bodies)
        _load(db_url, _jsonl(bodies))
        _assert_exact(engine)

    def test_no_mail_for_history(self, db_url: str, engine: Engine) -> None:
        bodies = [
            event_body(started_at=f"2026-11-2{d}T10:00:00Z", duration_sec=5, status=status)
            for d, status in ((0, "success"), (1, "failure"), (2, "failure"))
        ]
        _load(db_url, _jsonl(bodies))
        with engine.connect() as conn:
            alerts = conn.execute(text("select kind, state from alerts")).all()
            states = conn.execute(text("select branch, state, failures from alert_states")).all()
        assert [tuple(a) for a in alerts] == [("failing", "skipped")]
        assert [tuple(s) for s in states] == [("main", "failing", 2)]

    def test_one_notification_has_every_live_subscription_recompute(self, db_url: str) -> None:
        with psycopg.connect(db_url, autocommit=True) as listener:
            listener.execute("listen pulse_runs")
            _load(db_url, _jsonl(_history(random.Random(4), 30)))
            payloads = [note.payload for note in listener.notifies(timeout=2, stop_after=2)]
        assert payloads == ["*"]  # the hub's RESYNC_PAYLOAD, not one per run

    def test_other_pipelines_ingest_while_an_import_holds_its_own(
        self, db_url: str, engine: Engine
    ) -> None:
        """The import holds `web` (its pipeline) until it commits; `api` is written meanwhile,
        and a `web` event waits for the import."""
        _load(db_url, _jsonl([event_body(pipeline="web", duration_sec=1)]))
        with psycopg.connect(db_url) as importer:
            importer.execute("select pg_advisory_xact_lock(7461002, id) from pipelines")
            other_done = threading.Event()
            web_done = threading.Event()

            def ingest(pipeline: str, done: threading.Event) -> None:
                with psycopg.connect(db_url, autocommit=True) as conn:
                    conn.execute(
                        "select ingest_run(%s, 'success', null, null, 1, 'main', '', '', 'api',"
                        " null, null, null, null)",
                        (pipeline,),
                    )
                done.set()

            threads = [
                threading.Thread(target=ingest, args=("api", other_done)),
                threading.Thread(target=ingest, args=("web", web_done)),
            ]
            for thread in threads:
                thread.start()
            assert other_done.wait(30), "another pipeline's ingest waited for the import"
            assert not web_done.is_set()
            importer.rollback()
            assert web_done.wait(30)
            for thread in threads:
                thread.join()
        _assert_exact(engine)


class TestImportLocks:
    def test_the_import_holds_exactly_its_pipelines(self, db_url: str) -> None:
        """A real import, paused after it has written (its rebuild callback): ingest of a
        pipeline outside the file goes on; one inside it waits for the commit."""
        _load(db_url, _jsonl([event_body(pipeline="api", duration_sec=1)]))
        paused = threading.Event()
        go_on = threading.Event()
        other_done = threading.Event()

        def on_rebuild(done: int, total: int) -> None:
            paused.set()
            go_on.wait(30)

        def run_import() -> None:
            events = bulk.read_events(
                io.BytesIO(_jsonl([event_body(pipeline="web", duration_sec=2)])),
                bulk.FileFormat.jsonl,
            )
            with psycopg.connect(db_url, autocommit=True) as conn:
                bulk.import_runs(conn, events, on_rebuild=on_rebuild)

        importer = threading.Thread(target=run_import)
        importer.start()
        assert paused.wait(30)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "select ingest_run('api', 'success', null, null, 1, 'main', '', '', 'api', null,"
                " null, null, null)"
            )
            other_done.set()
            waiting = conn.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and granted"
                " and classid = 7461002"
            ).fetchone()
        go_on.set()
        importer.join(30)
        assert other_done.is_set()
        assert waiting is not None
        assert waiting[0] == 1


class TestImportCli:
    def test_stdin_end_to_end(self, db_url: str, engine: Engine, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
        env.update({"DATABASE_URL": db_url, "PULSE_DATA_DIR": str(tmp_path / "data")})
        data = _jsonl(_history(random.Random(11), 40))
        done = subprocess.run(
            [sys.executable, "-m", "ingest_api", "import", "-"],
            input=data,
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert b"Imported 40 lines" in done.stdout
        _assert_exact(engine)

        bad = tmp_path / "bad.jsonl"
        bad.write_bytes(data + b'{"pipeline": "web"}\n' * 25)
        done = subprocess.run(
            [sys.executable, "-m", "ingest_api", "import", str(bad)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        err = done.stderr.decode()
        assert done.returncode == 1, err
        assert "line 41: status: Field required" in err
        assert "and 5 more refused lines" in err
        assert "25 lines refused; nothing was imported." in err
