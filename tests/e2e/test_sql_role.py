"""`pulse sql-role`: a login in the reader group that reads the reporting views and nothing else."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from sqlalchemy.orm import Session

from analytics.history import SQL_VIEWS
from ingest_api.db import make_engine
from tests.e2e.processes import pulse
from tests.sql.test_history import refresh, seed_example


class TestSqlRole:
    def test_reads_the_views_and_nothing_else(self, db_url: str) -> None:
        engine = make_engine(db_url, pool_size=1)
        with Session(engine) as session:
            seed_example(session)
            refresh(session)
            session.commit()
        name = f"reporter_{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k != "PULSE_INGEST_TOKEN"}
        env["DATABASE_URL"] = db_url
        created = pulse("sql-role", name, env=env)
        try:
            assert created.returncode == 0, created.stderr
            url = created.stdout.strip().splitlines()[-1]
            assert url.startswith(f"postgresql://{name}:")
            with psycopg.connect(url, autocommit=True) as conn:
                for view in SQL_VIEWS:
                    count = conn.execute(f"select count(*) from {view}").fetchone()
                    assert count is not None
                    assert count[0] > 0, view
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    conn.execute("create temporary table scratch (x int)")
                # Read-only by default; and without the privileges even when it asks to write.
                conn.execute("set session characteristics as transaction read write")
                for forbidden in (
                    "select count(*) from runs",
                    "select count(*) from history_branch_days",
                    "select * from run_summary(60, null, null, 2000)",
                    "delete from history_state",
                    "insert into pipelines (name) values ('x')",
                    "select * from refresh_history()",
                ):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(forbidden)
            # Its rights come from the group role the migrations keep granted, not its own.
            with psycopg.connect(db_url) as conn:
                member = conn.execute(
                    "select pg_has_role(%s, 'pulse_reader', 'member')", (name,)
                ).fetchone()
                assert member == (True,)
                own = conn.execute(
                    "select count(*) from information_schema.role_table_grants where grantee = %s",
                    (name,),
                ).fetchone()
                assert own == (0,)
            # Again: the password is kept.
            again = pulse("sql-role", name, env=env)
            assert again.returncode == 0, again.stderr
            assert "password is unchanged" in again.stdout
            with psycopg.connect(url) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
            refused = pulse("sql-role", "Robert'); drop table runs;--", env=env)
            assert refused.returncode == 2
            assert "role name" in refused.stderr
        finally:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute(f"drop owned by {name}")
                conn.execute(f"drop role if exists {name}")
        engine.dispose()
