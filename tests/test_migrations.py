"""Migrations: upgrade, `alembic check` (models and migrations agree), downgrade/upgrade."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from ingest_api import migrate


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
