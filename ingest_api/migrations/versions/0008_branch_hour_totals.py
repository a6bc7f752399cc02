"""branch hour totals: branch-filtered summaries from running totals per hour; no run_rollups

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _figures() -> list[sa.Column[int]]:
    counts = ("running", "success", "failure", "cancelled", "skipped", "decided_duration_ms")
    return [sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in counts]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "branch_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_branch_hour_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "branch", "hour_start", name=op.f("pk_branch_hour_totals")
        ),
    )
    run_sql_file(bind, "functions/branch_totals_v01.sql")
    run_sql_file(bind, "functions/rebuild_rollups_v04.sql")
    run_sql_file(bind, "functions/run_summary_v05.sql")
    op.execute("select hour_totals_rebuild(id) from pipelines")
    op.execute("drop function pipeline_hour_totals_rebuild(integer)")
    op.execute("drop function window_spans(timestamptz, timestamptz, integer)")
    op.drop_index("ix_run_rollups_grain_bucket_start", table_name="run_rollups")
    op.drop_table("run_rollups")


def downgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "run_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
        sa.CheckConstraint("grain in ('hour', 'day', 'month')", name=op.f("ck_run_rollups_grain")),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_run_rollups_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint(
            "grain", "pipeline_id", "branch", "bucket_start", name=op.f("pk_run_rollups")
        ),
    )
    op.create_index(
        "ix_run_rollups_grain_bucket_start", "run_rollups", ["grain", "bucket_start"], unique=False
    )
    # rollup_add v01 lives in rollups_v01.sql, beside v01 of functions 0006 and 0007 replaced:
    # run it with bodies unchecked (recovery_rollups is gone), then put theirs back.
    op.execute("set local check_function_bodies = off")
    run_sql_file(bind, "functions/rollups_v01.sql")
    op.execute("set local check_function_bodies = on")
    run_sql_file(bind, "functions/recovery_totals_v01.sql")
    run_sql_file(bind, "functions/pipeline_totals_v01.sql")
    op.execute("drop function recovery_rollup_add(recoveries, integer)")
    run_sql_file(bind, "functions/window_spans_v01.sql")
    run_sql_file(bind, "functions/rebuild_rollups_v03.sql")
    run_sql_file(bind, "functions/run_summary_v04.sql")
    op.execute("select rebuild_rollups(id) from pipelines")
    op.execute("drop function hour_totals_rebuild(integer)")
    op.drop_table("branch_hour_totals")
