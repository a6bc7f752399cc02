"""history: daily history per pipeline and branch, kept incrementally; views for SQL readers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = (
    "views/runs_staged_v01.sql",
    "views/pipeline_health_current_v01.sql",
    "views/daily_pipeline_history_v01.sql",
    "views/daily_branch_history_v01.sql",
)

TRIGGERS = """
create trigger runs_mark_history
after insert or update or delete on runs
for each row execute function runs_mark_history();

create trigger recoveries_mark_history
after insert or update or delete on recoveries
for each row execute function recoveries_mark_history();
"""


def _daily_figures() -> list[sa.Column[Any]]:
    counts = ("total", "success", "failure", "running", "cancelled", "skipped")
    rates = ("success_rate", "avg_duration_sec", "p50_duration_sec", "p95_duration_sec")
    return [
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in counts),
        *(sa.Column(name, sa.Double(), nullable=True) for name in rates),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("mean_time_to_green_sec", sa.Double(), nullable=True),
        sa.Column(
            "refreshed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "history_changes",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "day", name=op.f("pk_history_changes")),
    )
    op.create_table(
        "history_pipeline_days",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_daily_figures(),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_history_pipeline_days_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "day", name=op.f("pk_history_pipeline_days")),
    )
    op.create_table(
        "history_branch_days",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_daily_figures(),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_history_branch_days_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "branch", "day", name=op.f("pk_history_branch_days")
        ),
    )
    op.create_table(
        "health_snapshot",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failure_streak", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mean_time_to_green_sec", sa.Double(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_health_snapshot_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint("pipeline_id", name=op.f("pk_health_snapshot")),
    )
    op.create_table(
        "history_state",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id", name=op.f("ck_history_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_state")),
    )
    # Refreshes read a touched day's recoveries per pipeline.
    op.create_index(
        op.f("ix_recoveries_pipeline_id_recovered_at"),
        "recoveries",
        ["pipeline_id", "recovered_at"],
    )
    op.execute("insert into history_state default values")
    bind = op.get_bind()
    run_sql_file(bind, "functions/history_v01.sql")
    for path in VIEWS:
        run_sql_file(bind, path)
    bind.exec_driver_sql(TRIGGERS, execution_options={"no_parameters": True})
    # The history of runs already stored, in one set-based pass.
    op.execute("select * from refresh_history(p_full => true, p_wait => true)")


def downgrade() -> None:
    op.execute("drop trigger runs_mark_history on runs")
    op.execute("drop trigger recoveries_mark_history on recoveries")
    for view in (
        "daily_branch_history",
        "daily_pipeline_history",
        "pipeline_health_current",
        "runs_staged",
    ):
        op.execute(f"drop view {view}")
    op.execute("drop function refresh_history(boolean, boolean)")
    op.execute("drop function runs_mark_history()")
    op.execute("drop function recoveries_mark_history()")
    op.drop_index(op.f("ix_recoveries_pipeline_id_recovered_at"), table_name="recoveries")
    for table in (
        "history_state",
        "health_snapshot",
        "history_branch_days",
        "history_pipeline_days",
        "history_changes",
    ):
        op.drop_table(table)
