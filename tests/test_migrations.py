"""Migrations: upgrade, `alembic check` (models and migrations agree), downgrade/upgrade."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from analytics.models import EXACT_PERCENTILES_UP_TO, Health, Totals
from ingest_api import migrate
from ingest_api.db import make_engine
from ingest_api.sqlfiles import READER_ROLE, apply_view
from tests import reference
from tests.sql.test_summary import assert_matches, db_now, stored_runs

BASELINE = "0007"


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select tablename from pg_tables where schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _functions(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select proname from pg_proc join pg_namespace n on n.oid = pronamespace"
            " where nspname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_read_connections_plan_every_call(shared_engine: Engine) -> None:
    """The summary must never run on a generic plan, nor pay for JIT (see ingest_api/db.py)."""
    with shared_engine.connect() as conn:
        settings = {
            name: conn.exec_driver_sql(f"show {name}").scalar_one()
            for name in ("plan_cache_mode", "jit", "timezone")
        }
    assert settings == {"plan_cache_mode": "force_custom_plan", "jit": "off", "timezone": "UTC"}


class TestMigrations:
    def test_upgrade_check_downgrade_roundtrip(self, db_url: str) -> None:
        config: Config = migrate.alembic_config(db_url)
        assert {"pipelines", "runs", "alembic_version"} <= _tables(db_url)
        assert {"ingest_run", "run_timing", "run_summary", "pipeline_health"} <= _functions(db_url)
        command.check(config)  # raises when models and migrations disagree

        migrate.downgrade(db_url, "base")
        assert _tables(db_url) == {"alembic_version"}
        assert not {"ingest_run", "run_summary"} & _functions(db_url)

        migrate.upgrade(db_url)
        assert {"pipelines", "runs"} <= _tables(db_url)
        command.check(config)

    def test_upgrade_is_idempotent(self, db_url: str) -> None:
        migrate.upgrade(db_url)
        migrate.upgrade(db_url)
        with psycopg.connect(db_url) as conn:
            version = conn.execute("select version_num from alembic_version").fetchall()
        assert len(version) == 1


def _revisions_after_baseline(url: str) -> list[str]:
    """Every revision after the baseline, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions())) if rev.down_revision]


# The baseline's ingest_run, called as the API called it then: seeding must not depend on
# what later migrations add to the function.
_BASELINE_INGEST = (
    "select ingest_run(%(pipeline)s, %(status)s::run_status, %(started_at)s, null,"
    " %(duration_sec)s, %(branch)s, 'c0ffee', 'octocat', 'api', %(external_id)s, null)"
)


def _seed(url: str, rng: random.Random, *, runs: int) -> None:
    """Runs over the last 40 days through the baseline's ingest function: three pipelines, two
    branches, every status."""
    with psycopg.connect(url) as conn:
        now = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        for i in range(runs):
            status = rng.choice(
                ["success", "success", "failure", "cancelled", "skipped", "running"]
            )
            conn.execute(
                _BASELINE_INGEST,
                {
                    "pipeline": rng.choice(["web", "api", "docs"]),
                    "status": status,
                    "started_at": now - timedelta(minutes=rng.randrange(40 * 24 * 60) + 10),
                    "duration_sec": None
                    if status == "running"
                    else rng.randrange(1, 600_000) / 1000,
                    "branch": rng.choice(["main", "dev"]),
                    "external_id": f"seed-{i}",
                },
            )


# The calls every revision's functions answer (later versions add arguments with defaults):
# the current analytics code may call what only the head has.
_SUMMARY = text("select * from run_summary(:minutes, null, :branch, :exact_up_to)")
_HEALTH = text("select * from pipeline_health(:minutes, null, :branch)")


def _figures_any_revision(
    session: Session, minutes: int, branch: str | None
) -> tuple[Totals, dict[str, Health]]:
    params = {"minutes": minutes, "branch": branch, "exact_up_to": EXACT_PERCENTILES_UP_TO}
    rows = session.execute(_SUMMARY, params).mappings().all()
    total = Totals.model_validate(dict(next(row for row in rows if row["is_total"])))
    healths = {
        row["pipeline"]: Health.model_validate(dict(row))
        for row in session.execute(_HEALTH, params).mappings()
    }
    return total, healths


def _figures_match_the_reference(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            runs = stored_runs(session)
            now = db_now(session)
            assert runs
            for minutes in (60, 1440, 43200, 525600):
                for branch in (None, "main"):
                    scope = [r for r in runs if branch is None or r.branch == branch]
                    window = reference.in_window(scope, now, minutes)
                    total, healths = _figures_any_revision(session, minutes, branch)
                    assert_matches(total, reference.totals(window))
                    for pipeline, health in healths.items():
                        mine = [r for r in scope if r.pipeline == pipeline]
                        if reference.in_window(mine, now, minutes):
                            assert health.model_dump() == reference.health(mine, now, minutes)
    finally:
        engine.dispose()


class TestMigrationsWithData:
    def test_summaries_and_health_survive_every_step(self, db_url: str) -> None:
        migrate.downgrade(db_url, "base")
        migrate.upgrade(db_url, BASELINE)
        _seed(db_url, random.Random(13), runs=250)
        _figures_match_the_reference(db_url)
        later = _revisions_after_baseline(db_url)
        for revision in later:
            migrate.upgrade(db_url, revision)
            _figures_match_the_reference(db_url)
        for revision in reversed([BASELINE, *later[:-1]]):
            migrate.downgrade(db_url, revision)
            _figures_match_the_reference(db_url)
        migrate.upgrade(db_url)
        _figures_match_the_reference(db_url)

    def test_a_database_from_before_the_baseline_is_refused_with_a_way_out(
        self, db_url: str
    ) -> None:
        with psycopg.connect(db_url) as conn:
            conn.execute("update alembic_version set version_num = '0005'")
        with pytest.raises(migrate.PreBaselineDatabase, match="Start afresh"):
            migrate.upgrade(db_url)

    def test_a_database_from_a_newer_version_is_refused_saying_so(self, db_url: str) -> None:
        with psycopg.connect(db_url) as conn:
            conn.execute("update alembic_version set version_num = '9999'")
        with pytest.raises(migrate.NewerDatabase, match="migration 9999; this version knows"):
            migrate.upgrade(db_url)

    def test_a_reader_still_reads_a_view_a_migration_replaced(self, db_url: str) -> None:
        name = f"reader_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f"create role {name} login password 'reader-pw' in role {READER_ROLE}")
        try:
            engine = make_engine(db_url, pool_size=1)
            with engine.begin() as conn:
                # What a later migration does to a view: drop it and create its new version.
                conn.exec_driver_sql("drop view daily_pipeline_history")
                apply_view(conn, "views/daily_pipeline_history_v01.sql")
            engine.dispose()
            reader_url = make_url(db_url).set(username=name, password="reader-pw")
            with psycopg.connect(reader_url.render_as_string(hide_password=False)) as reader:
                reader.execute("select count(*) from daily_pipeline_history").fetchone()
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reader.execute("select count(*) from runs")
        finally:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute(f"drop role {name}")
