"""SQL assets under `sql/`, applied by migrations: one current file per database object
(sql/README.md maps them). A changed object gets a new version file (`<name>_v02.sql`) and a
migration; an applied file is never edited, so every migration still replays."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# The group role every reporting view is granted to; `pulse sql-role` makes logins in it, so a
# view a later migration adds or replaces reaches existing readers without a re-grant.
READER_ROLE = "pulse_reader"


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text()


def run_sql_file(connection: Connection, relative: str) -> None:
    # Executed by the driver as one script with no parameter parsing, so `%` and `:` are literal.
    connection.exec_driver_sql(read_sql(relative), execution_options={"no_parameters": True})


def create_reader_role(connection: Connection) -> None:
    """The reader group role, with the right to connect and to see the schema. A database user
    without CREATEROLE (some managed servers) gets a notice instead: readers then need grants
    from an administrator."""
    connection.exec_driver_sql(
        f"""
        do $$
        begin
            if not exists (select from pg_roles where rolname = '{READER_ROLE}') then
                create role {READER_ROLE} nologin;
            end if;
            execute format('grant connect on database %I to {READER_ROLE}', current_database());
            grant usage on schema public to {READER_ROLE};
        exception when insufficient_privilege then
            raise notice 'no right to create the role {READER_ROLE}; SQL readers need grants';
        end
        $$
        """,
        execution_options={"no_parameters": True},
    )


def apply_view(connection: Connection, relative: str) -> None:
    """Create or replace a reporting view from its file and grant it to the reader role (a view
    dropped and recreated loses its grants)."""
    run_sql_file(connection, relative)
    view = Path(relative).stem.rsplit("_v", 1)[0]
    connection.exec_driver_sql(
        f"""
        do $$
        begin
            if exists (select from pg_roles where rolname = '{READER_ROLE}') then
                grant select on {view} to {READER_ROLE};
            end if;
        end
        $$
        """,
        execution_options={"no_parameters": True},
    )
