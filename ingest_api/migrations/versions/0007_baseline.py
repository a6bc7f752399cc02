"""baseline: today's schema in one step, from one current SQL file per object

Replaces the development migrations 0001-0007, which no released database ever ran; a database
they made is at this revision already and needs nothing. The tables are written out here; every
function, trigger and view comes from its file under sql/ (sql/README.md maps them). From here
on, a changed object gets a new version file (`<name>_v02.sql`) and a migration that applies it;
an applied file is never edited.

Revision ID: 0007
Revises:
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import READER_ROLE, apply_view, create_reader_role, run_sql_file

revision: str = "0007"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In an order in which each finds what it names (SQL-language bodies are checked on creation).
FUNCTIONS = (
    "duration_bin",
    "duration_bin_value_ms",
    "hist_add",
    "hist_merge",
    "hist_sum",
    "hist_agg_step",
    "hist_agg",
    "decided_neighbor",
    "run_timing",
    "pipeline_totals_add",
    "branch_totals_add",
    "hour_totals_rebuild",
    "recovery_refresh",
    "recoveries_around",
    "recovery_totals_add",
    "recovery_totals_rebuild",
    "rebuild_rollups",
    "ingest_run",
    "run_summary",
    "pipeline_health",
    "pipeline_list",
    "refresh_history",
    "delete_run",
    "delete_runs",
    "delete_pipeline",
)
TRIGGERS = (
    "runs_keep_totals",
    "recoveries_keep_totals",
    "runs_mark_history",
    "recoveries_mark_history",
    "runs_notify",
)
VIEWS = ("runs_staged", "pipeline_health_current", "daily_pipeline_history", "daily_branch_history")
AGGREGATES = {"hist_sum": "integer[]", "hist_agg": "integer, bigint"}


def upgrade() -> None:
    op.create_table(
        "history_changes",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "day", name=op.f("pk_history_changes")),
    )
    op.create_table(
        "history_state",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id", name=op.f("ck_history_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_state")),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
    )
    op.create_index(op.f("ix_pipelines_name"), "pipelines", ["name"], unique=True)
    op.create_table(
        "branch_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
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
            name=op.f("fk_branch_hour_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "branch", "hour_start", name=op.f("pk_branch_hour_totals")
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
        "history_branch_days",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("success", sa.BigInteger(), nullable=False),
        sa.Column("failure", sa.BigInteger(), nullable=False),
        sa.Column("running", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("success_rate", sa.Double(), nullable=True),
        sa.Column("avg_duration_sec", sa.Double(), nullable=True),
        sa.Column("p50_duration_sec", sa.Double(), nullable=True),
        sa.Column("p95_duration_sec", sa.Double(), nullable=True),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("mean_time_to_green_sec", sa.Double(), nullable=True),
        sa.Column(
            "refreshed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
        "history_pipeline_days",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("success", sa.BigInteger(), nullable=False),
        sa.Column("failure", sa.BigInteger(), nullable=False),
        sa.Column("running", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("success_rate", sa.Double(), nullable=True),
        sa.Column("avg_duration_sec", sa.Double(), nullable=True),
        sa.Column("p50_duration_sec", sa.Double(), nullable=True),
        sa.Column("p95_duration_sec", sa.Double(), nullable=True),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("mean_time_to_green_sec", sa.Double(), nullable=True),
        sa.Column(
            "refreshed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_history_pipeline_days_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "day", name=op.f("pk_history_pipeline_days")),
    )
    op.create_table(
        "pipeline_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
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
            name=op.f("fk_pipeline_hour_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "hour_start", name=op.f("pk_pipeline_hour_totals")),
    )
    op.create_table(
        "recovery_totals",
        sa.Column("per_branch", sa.Boolean(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("time_to_green_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_recovery_totals_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint(
            "per_branch", "pipeline_id", "branch", "hour_start", name=op.f("pk_recovery_totals")
        ),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("running", "success", "failure", "cancelled", "skipped", name="run_status"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_sec", sa.Double(), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("triggered_by", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=64), server_default="api", nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "finished_at is null or (finished_at >= started_at"
            " and finished_at < '2200-01-01 00:00:00+00')",
            name=op.f("ck_runs_finished_at_range"),
        ),
        sa.CheckConstraint(
            "started_at >= '2000-01-01 00:00:00+00' and started_at < '2200-01-01 00:00:00+00'",
            name=op.f("ck_runs_started_at_range"),
        ),
        sa.CheckConstraint(
            "duration_sec is null or (duration_sec >= 0 and duration_sec <= 3024000)",
            name=op.f("ck_runs_duration_sec_range"),
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_runs_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_runs_source_external_id")),
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
    op.create_index(
        "ix_runs_pipeline_id_started_at",
        "runs",
        ["pipeline_id", sa.literal_column("started_at DESC")],
        unique=False,
    )
    op.create_index("ix_runs_started_at_id", "runs", ["started_at", "id"], unique=False)
    op.create_index("ix_runs_status", "runs", ["status"], unique=False)
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
    op.create_index(
        "ix_recoveries_pipeline_id_recovered_at",
        "recoveries",
        ["pipeline_id", "recovered_at"],
        unique=False,
    )
    op.create_index("ix_recoveries_recovered_at", "recoveries", ["recovered_at"], unique=False)
    op.execute("insert into history_state default values")
    bind = op.get_bind()
    for name in FUNCTIONS:
        run_sql_file(bind, f"functions/{name}_v01.sql")
    for name in TRIGGERS:
        run_sql_file(bind, f"triggers/{name}_v01.sql")
    create_reader_role(bind)
    for name in VIEWS:
        apply_view(bind, f"views/{name}_v01.sql")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"drop view {name}")
    for name in TRIGGERS:
        table = "recoveries" if name.startswith("recoveries") else "runs"
        op.execute(f"drop trigger {name} on {table}")
        op.execute(f"drop function {name}()")
    for name in reversed(FUNCTIONS):
        if name in AGGREGATES:
            op.execute(f"drop aggregate {name}({AGGREGATES[name]})")
        else:
            op.execute(f"drop function {name}")
    # The role may read other databases of the server: it stays, without this one's grants.
    revoke_grants = (
        "do $$ begin if exists (select from pg_roles where rolname = '{role}') then"
        " execute format('revoke all on database %I from {role}', current_database());"
        " revoke usage on schema public from {role}; end if; end $$"
    )
    op.execute(revoke_grants.format(role=READER_ROLE))
    op.drop_index("ix_recoveries_recovered_at", table_name="recoveries")
    op.drop_index("ix_recoveries_pipeline_id_recovered_at", table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index("ix_runs_status", table_name="runs")
    op.drop_index("ix_runs_started_at_id", table_name="runs")
    op.drop_index("ix_runs_pipeline_id_started_at", table_name="runs")
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
    op.drop_table("runs")
    op.drop_table("recovery_totals")
    op.drop_table("pipeline_hour_totals")
    op.drop_table("history_pipeline_days")
    op.drop_table("history_branch_days")
    op.drop_table("health_snapshot")
    op.drop_table("branch_hour_totals")
    op.drop_index(op.f("ix_pipelines_name"), table_name="pipelines")
    op.drop_table("pipelines")
    op.drop_table("history_state")
    op.drop_table("history_changes")
    sa.Enum(name="run_status").drop(op.get_bind(), checkfirst=True)
