"""rollups: exact per-hour/day/month tables kept by triggers, recoveries, summary v02

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "functions/duration_bins_v01.sql",
    "functions/window_spans_v01.sql",
    "functions/rollups_v01.sql",
    "functions/rebuild_rollups_v01.sql",
    "functions/run_summary_v02.sql",
    "functions/pipeline_health_v02.sql",
    "functions/ingest_run_v02.sql",
)
# The v02 functions replace v01 (migration 0001); a downgrade puts v01 back.
PREVIOUS = (
    "functions/run_summary_v01.sql",
    "functions/pipeline_health_v01.sql",
    "functions/ingest_run_v01.sql",
)

TRIGGERS = """
create trigger runs_keep_rollups
after insert or update or delete on runs
for each row execute function runs_keep_rollups();

create trigger recoveries_keep_rollups
after insert or update or delete on recoveries
for each row execute function recoveries_keep_rollups();
"""

DROP_FUNCTIONS = """
drop function if exists run_summary(integer, text, text, integer);
drop function if exists rebuild_rollups(integer);
drop aggregate if exists hist_sum(integer[]);
drop function if exists hist_merge(integer[], integer[]);
drop function if exists pipeline_rollup_add(runs, integer);
drop aggregate if exists hist_agg(integer, bigint);
drop function if exists hist_agg_step(integer[], integer, bigint);
drop function if exists recoveries_keep_rollups();
drop function if exists recovery_rollup_add(recoveries, integer);
drop function if exists runs_keep_rollups();
drop function if exists recoveries_around(integer, text, timestamptz, bigint);
drop function if exists recovery_refresh(text, runs);
drop function if exists decided_neighbor(integer, text, run_status, timestamptz, bigint, boolean);
drop function if exists rollup_add(runs, integer);
drop function if exists window_spans(timestamptz, timestamptz, integer);
drop function if exists hist_add(integer[], integer, integer);
drop function if exists duration_bin_value_ms(integer);
drop function if exists duration_bin(bigint);
"""


def upgrade() -> None:
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
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_recovery_rollups_pipeline_id_pipelines"),
        ),
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
    op.create_table(
        "run_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("success", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failure", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("decided_duration_ms", sa.BigInteger(), server_default="0", nullable=False),
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
    op.create_table(
        "recoveries",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("per_branch", sa.Boolean(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_to_green_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_recoveries_pipeline_id_pipelines")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_recoveries_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "per_branch", name=op.f("pk_recoveries")),
    )
    op.create_index("ix_recoveries_recovered_at", "recoveries", ["recovered_at"], unique=False)
    op.drop_index(
        op.f("ix_runs_decided"),
        table_name="runs",
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.create_index(
        "ix_runs_decided",
        "runs",
        [
            "pipeline_id",
            "status",
            sa.literal_column("finished_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.create_index(
        "ix_runs_decided_branch",
        "runs",
        [
            "pipeline_id",
            "branch",
            "status",
            sa.literal_column("finished_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.create_index(
        "ix_runs_decided_finished_at",
        "runs",
        [sa.literal_column("finished_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.create_table(
        "pipeline_day_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("success", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failure", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("decided_duration_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_day_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "day_start", name=op.f("pk_pipeline_day_totals")),
    )
    op.create_table(
        "pipeline_hour_rollups",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("success", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failure", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("decided_duration_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_hour_rollups_pipeline_id_pipelines"),
        ),
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
    bind = op.get_bind()
    # v02 takes one more argument; the v01 signature must go, or calls become ambiguous.
    op.execute("drop function run_summary(integer, text, text)")
    for path in FUNCTIONS:
        run_sql_file(bind, path)
    bind.exec_driver_sql(TRIGGERS, execution_options={"no_parameters": True})
    # Runs stored before this migration get their rollups now.
    op.execute("select rebuild_rollups(id) from pipelines")


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("drop trigger if exists runs_keep_rollups on runs")
    op.execute("drop trigger if exists recoveries_keep_rollups on recoveries")
    for path in PREVIOUS:
        run_sql_file(bind, path)
    bind.exec_driver_sql(DROP_FUNCTIONS, execution_options={"no_parameters": True})
    op.drop_index(
        "ix_runs_decided_finished_at",
        table_name="runs",
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.drop_index(
        "ix_runs_decided_branch",
        table_name="runs",
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.drop_index(
        "ix_runs_decided",
        table_name="runs",
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.create_index(
        op.f("ix_runs_decided"),
        "runs",
        ["pipeline_id", sa.literal_column("finished_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status IN ('success', 'failure')"),
    )
    op.drop_index("ix_recoveries_recovered_at", table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index("ix_pipeline_hour_rollups_bucket_start", table_name="pipeline_hour_rollups")
    op.drop_table("pipeline_hour_rollups")
    op.drop_table("pipeline_day_totals")
    op.drop_index("ix_run_rollups_grain_bucket_start", table_name="run_rollups")
    op.drop_table("run_rollups")
    op.drop_index("ix_recovery_rollups_grain_bucket_start", table_name="recovery_rollups")
    op.drop_table("recovery_rollups")
