"""hour totals: running totals per hour in place of the bucketed rollups

run_rollups (per branch and UTC hour, day and month), pipeline_hour_rollups,
pipeline_day_totals and recovery_rollups give way to pipeline_hour_totals, branch_hour_totals
and recovery_totals: any window is two rows per pipeline (sql/functions/hour_totals_v01.sql,
recovery_totals_v01.sql).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "functions/recovery_totals_v01.sql",
    "functions/hour_totals_v01.sql",
    "functions/rebuild_rollups_v02.sql",
    "functions/run_summary_v04.sql",
    "functions/pipeline_health_v03.sql",
)
# What a downgrade puts back, in an order in which each finds what it names.
PREVIOUS = (
    "functions/window_spans_v01.sql",
    "functions/rollups_v01.sql",
    "functions/rebuild_rollups_v01.sql",
    "functions/run_summary_v03.sql",
    "functions/pipeline_health_v02.sql",
)


def _figures() -> list[sa.Column[Any]]:
    counts = ("running", "success", "failure", "cancelled", "skipped", "decided_duration_ms")
    return [
        *(sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in counts),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
    ]


def _pipeline_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["pipeline_id"], ["pipelines.id"], name=op.f(f"fk_{table}_pipeline_id_pipelines")
    )


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "pipeline_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        _pipeline_fk("pipeline_hour_totals"),
        sa.PrimaryKeyConstraint("pipeline_id", "hour_start", name=op.f("pk_pipeline_hour_totals")),
    )
    op.create_table(
        "branch_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        _pipeline_fk("branch_hour_totals"),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "branch", "hour_start", name=op.f("pk_branch_hour_totals")
        ),
    )
    op.create_table(
        "recovery_totals",
        sa.Column("per_branch", sa.Boolean(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("time_to_green_us", sa.BigInteger(), nullable=False),
        _pipeline_fk("recovery_totals"),
        sa.PrimaryKeyConstraint(
            "per_branch", "pipeline_id", "branch", "hour_start", name=op.f("pk_recovery_totals")
        ),
    )
    for path in FUNCTIONS:
        run_sql_file(bind, path)
    # Runs and recoveries stored before this migration get their running totals now.
    op.execute("select hour_totals_rebuild(id), recovery_totals_rebuild(id) from pipelines")
    op.execute("drop function recovery_rollup_add(recoveries, integer)")
    op.execute("drop function window_spans(timestamptz, timestamptz, integer)")
    op.drop_index("ix_run_rollups_grain_bucket_start", table_name="run_rollups")
    op.drop_table("run_rollups")
    op.drop_index("ix_pipeline_hour_rollups_bucket_start", table_name="pipeline_hour_rollups")
    op.drop_table("pipeline_hour_rollups")
    op.drop_table("pipeline_day_totals")
    op.drop_index("ix_recovery_rollups_grain_bucket_start", table_name="recovery_rollups")
    op.drop_table("recovery_rollups")


def downgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "run_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        sa.CheckConstraint("grain in ('hour', 'day', 'month')", name=op.f("ck_run_rollups_grain")),
        _pipeline_fk("run_rollups"),
        sa.PrimaryKeyConstraint(
            "grain", "pipeline_id", "branch", "bucket_start", name=op.f("pk_run_rollups")
        ),
    )
    op.create_index(
        "ix_run_rollups_grain_bucket_start", "run_rollups", ["grain", "bucket_start"], unique=False
    )
    op.create_table(
        "pipeline_day_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        _pipeline_fk("pipeline_day_totals"),
        sa.PrimaryKeyConstraint("pipeline_id", "day_start", name=op.f("pk_pipeline_day_totals")),
    )
    op.create_table(
        "pipeline_hour_rollups",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        _pipeline_fk("pipeline_hour_rollups"),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "bucket_start", name=op.f("pk_pipeline_hour_rollups")
        ),
    )
    op.create_index(
        "ix_pipeline_hour_rollups_bucket_start",
        "pipeline_hour_rollups",
        ["bucket_start"],
        unique=False,
    )
    op.create_table(
        "recovery_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("per_branch", sa.Boolean(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recoveries", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("time_to_green_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "grain in ('hour', 'day', 'month')", name=op.f("ck_recovery_rollups_grain")
        ),
        _pipeline_fk("recovery_rollups"),
        sa.PrimaryKeyConstraint(
            "grain",
            "pipeline_id",
            "per_branch",
            "branch",
            "bucket_start",
            name=op.f("pk_recovery_rollups"),
        ),
    )
    op.create_index(
        "ix_recovery_rollups_grain_bucket_start",
        "recovery_rollups",
        ["grain", "bucket_start"],
        unique=False,
    )
    for path in PREVIOUS:
        run_sql_file(bind, path)
    op.execute("select rebuild_rollups(id) from pipelines")
    op.execute("drop function hour_totals_rebuild(integer)")
    op.execute("drop function recovery_totals_rebuild(integer)")
    op.execute("drop function recovery_totals_add(recoveries, integer)")
    op.drop_table("recovery_totals")
    op.drop_table("branch_hour_totals")
    op.drop_table("pipeline_hour_totals")
