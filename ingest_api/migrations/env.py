"""Alembic environment: online migrations against the URL the caller configured."""

from __future__ import annotations

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

from ingest_api.config import get_settings
from ingest_api.db import sqlalchemy_url
from ingest_api.migrate import NewerDatabase, PreBaselineDatabase
from ingest_api.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if not url:
        raise SystemExit("no database: set DATABASE_URL, or run `pulse migrate`")
    return sqlalchemy_url(url).render_as_string(hide_password=False)


# Two processes starting at once against one database must not migrate it twice.
MIGRATION_LOCK = 7_461_001


def _refuse_unknown_revisions(connection: Connection) -> None:
    """A database at a revision we do not have was made by a development version from before
    the baseline (0001-0006), or migrated by a newer version (revisions are numbered in order):
    say which and what to do rather than fail obscurely."""
    if connection.execute(text("select to_regclass('alembic_version')")).scalar() is None:
        return
    stored = connection.execute(text("select version_num from alembic_version")).scalars().all()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = sorted(set(stored) - known)
    if unknown:
        head = max(known)
        if unknown[-1] > head:
            raise NewerDatabase(unknown[-1], head)
        raise PreBaselineDatabase(unknown[0])


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        _refuse_unknown_revisions(connection)
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _migrate(connection)


run_migrations_online()
