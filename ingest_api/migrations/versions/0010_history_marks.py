"""history marks lock their key: no run left out of the daily history by a concurrent refresh

runs_mark_history and recoveries_mark_history v02 (sql/triggers): a write whose (pipeline, day)
is already noted in history_changes locks that row until it commits, so refresh_history, which
takes the keys first, waits for it and then reads its run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "triggers/runs_mark_history_v02.sql")
    run_sql_file(bind, "triggers/recoveries_mark_history_v02.sql")


def downgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "triggers/runs_mark_history_v01.sql")
    run_sql_file(bind, "triggers/recoveries_mark_history_v01.sql")
