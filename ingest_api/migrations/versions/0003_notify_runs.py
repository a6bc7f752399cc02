"""notify runs: announce each committed change of a run on channel pulse_runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql_file(op.get_bind(), "functions/notify_runs_v01.sql")
    op.execute(
        """
        create trigger runs_notify
        after insert or update or delete on runs
        for each row execute function runs_notify()
        """
    )


def downgrade() -> None:
    op.execute("drop trigger runs_notify on runs")
    op.execute("drop function runs_notify()")
