"""daily histograms and failure counts: a year of Streamlit trends without reading its runs

history_pipeline_days and history_branch_days gain each day's duration histogram (the running
totals' bins, sql/functions/duration_bin_v01.sql), first-try counts, its recoveries binned by
time to green, and its failures per UTC quarter-hour and per person who triggered them;
history_days holds them merged across pipelines, per UTC day; history_heals, each success
that followed a failure of its commit (flaky commits), found by ix_runs_pipeline_id_commit, now
over every run. refresh_history v03 keeps them.
The upgrade recomputes the whole history once (minutes for 10M runs).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ingest_api.sqlfiles import run_sql_file

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY_TABLES = ("history_pipeline_days", "history_branch_days")


def upgrade() -> None:
    for table in _DAY_TABLES:
        for column in ("duration_hist", "time_to_green_hist", "failures_by_quarter"):
            op.add_column(table, sa.Column(column, postgresql.ARRAY(sa.Integer())))
        op.add_column(table, sa.Column("decided_by_trigger", postgresql.JSONB()))
        for column in ("first_try_decided", "first_try_success"):
            op.add_column(
                table, sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
            )
    op.create_table(
        "history_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("duration_hist", postgresql.ARRAY(sa.Integer())),
        sa.Column("first_try_decided", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_try_success", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("time_to_green_hist", postgresql.ARRAY(sa.Integer())),
        sa.Column("failures_by_quarter", postgresql.ARRAY(sa.Integer())),
        sa.Column("decided_by_trigger", postgresql.JSONB()),
        sa.Column(
            "refreshed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_history_days")),
    )
    op.create_table(
        "history_heals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("healed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_history_heals_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "pipeline_id", "run_id", name=op.f("pk_history_heals")),
    )
    # Every run's commit, not only those that record their attempt: heals are found by it.
    op.drop_index("ix_runs_pipeline_id_commit", table_name="runs")
    op.create_index("ix_runs_pipeline_id_commit", "runs", ["pipeline_id", "commit"])
    bind = op.get_bind()
    run_sql_file(bind, "functions/refresh_history_v03.sql")
    bind.exec_driver_sql("select refresh_history(p_full => true, p_wait => true)")


def downgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "functions/refresh_history_v02.sql")
    op.drop_index("ix_runs_pipeline_id_commit", table_name="runs")
    op.create_index(
        "ix_runs_pipeline_id_commit",
        "runs",
        ["pipeline_id", "commit"],
        postgresql_where=sa.text("attempt IS NOT NULL"),
    )
    op.drop_table("history_heals")
    op.drop_table("history_days")
    for table in _DAY_TABLES:
        op.drop_column(table, "first_try_success")
        op.drop_column(table, "first_try_decided")
        op.drop_column(table, "decided_by_trigger")
        op.drop_column(table, "failures_by_quarter")
        op.drop_column(table, "time_to_green_hist")
        op.drop_column(table, "duration_hist")
