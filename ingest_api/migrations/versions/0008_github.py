"""github: runs record their attempt and CI conclusion; webhook deliveries and jobs; first-try
figures in the daily history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ingest_api.sqlfiles import apply_view, run_sql_file

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INGEST_RUN_V01 = (
    "ingest_run(text, run_status, timestamptz, timestamptz, double precision, text, text, text,"
    " text, text, text)"
)
INGEST_RUN_V02 = f"{INGEST_RUN_V01[:-1]}, integer, text)"


def upgrade() -> None:
    op.add_column("runs", sa.Column("attempt", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("conclusion", sa.String(length=64), nullable=True))
    op.create_check_constraint(
        op.f("ck_runs_attempt_range"), "runs", "attempt is null or attempt between 1 and 1000000"
    )
    op.add_column("pipelines", sa.Column("url", sa.String(length=2048), nullable=True))
    op.create_table(
        "github_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deliveries")),
    )
    op.create_index(
        "ix_github_deliveries_received_at", "github_deliveries", ["received_at"], unique=False
    )
    op.create_table(
        "github_jobs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("run_attempt", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("conclusion", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runner_name", sa.String(length=1024), nullable=True),
        sa.Column("runner_group", sa.String(length=1024), nullable=True),
        sa.Column("runner_labels", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_jobs")),
    )
    op.create_index(
        "ix_github_jobs_run_id_run_attempt", "github_jobs", ["run_id", "run_attempt"], unique=False
    )
    # Re-runs of a commit, for the history's first-try figures (only runs with an attempt).
    op.create_index(
        "ix_runs_pipeline_id_commit",
        "runs",
        ["pipeline_id", "commit"],
        unique=False,
        postgresql_where=sa.text("attempt IS NOT NULL"),
    )
    for table in ("history_pipeline_days", "history_branch_days"):
        op.add_column(table, sa.Column("first_try_success_rate", sa.Double(), nullable=True))
        op.add_column(
            table,
            sa.Column("rerun_recoveries", sa.BigInteger(), server_default="0", nullable=False),
        )
    bind = op.get_bind()
    op.execute(f"drop function {INGEST_RUN_V01}")
    run_sql_file(bind, "functions/ingest_run_v02.sql")
    run_sql_file(bind, "functions/refresh_history_v02.sql")
    op.execute("drop function pipeline_list()")  # its result gains a column
    run_sql_file(bind, "functions/pipeline_list_v02.sql")
    for view in ("runs_staged", "daily_pipeline_history", "daily_branch_history"):
        apply_view(bind, f"views/{view}_v02.sql")


def downgrade() -> None:
    bind = op.get_bind()
    # A view's columns cannot be dropped by create or replace: v01 comes back whole.
    for view in ("runs_staged", "daily_pipeline_history", "daily_branch_history"):
        op.execute(f"drop view {view}")
        apply_view(bind, f"views/{view}_v01.sql")
    run_sql_file(bind, "functions/refresh_history_v01.sql")
    op.execute("drop function pipeline_list()")
    run_sql_file(bind, "functions/pipeline_list_v01.sql")
    for table in ("history_pipeline_days", "history_branch_days"):
        op.drop_column(table, "rerun_recoveries")
        op.drop_column(table, "first_try_success_rate")
    op.drop_index("ix_runs_pipeline_id_commit", table_name="runs")
    op.execute(f"drop function {INGEST_RUN_V02}")
    run_sql_file(bind, "functions/ingest_run_v01.sql")
    op.drop_index("ix_github_jobs_run_id_run_attempt", table_name="github_jobs")
    op.drop_table("github_jobs")
    op.drop_index("ix_github_deliveries_received_at", table_name="github_deliveries")
    op.drop_table("github_deliveries")
    op.drop_column("pipelines", "url")
    op.drop_constraint(op.f("ck_runs_attempt_range"), "runs", type_="check")
    op.drop_column("runs", "conclusion")
    op.drop_column("runs", "attempt")
