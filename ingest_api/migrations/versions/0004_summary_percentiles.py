"""summary percentiles: run_summary v03 reads histograms in one pass per array

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql_file(op.get_bind(), "functions/run_summary_v03.sql")


def downgrade() -> None:
    run_sql_file(op.get_bind(), "functions/run_summary_v02.sql")
