"""pipelines and runs, with the ingest, summary and health functions

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")

FUNCTIONS = (
    "functions/run_timing_v01.sql",
    "functions/ingest_run_v01.sql",
    "functions/run_summary_v01.sql",
    "functions/pipeline_health_v01.sql",
)


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
    )
    op.create_index(op.f("ix_pipelines_name"), "pipelines", ["name"], unique=True)
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
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_runs_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_runs_source_external_id")),
    )
    op.create_index(
        "ix_runs_decided",
        "runs",
        ["pipeline_id", sa.literal_column("finished_at DESC"), sa.literal_column("id DESC")],
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
    for path in FUNCTIONS:
        run_sql_file(op.get_bind(), path)


def downgrade() -> None:
    op.execute("drop function if exists pipeline_health(integer, text, text)")
    op.execute("drop function if exists run_summary(integer, text, text)")
    op.execute(
        "drop function if exists ingest_run(text, run_status, timestamptz, timestamptz,"
        " double precision, text, text, text, text, text, text)"
    )
    op.execute(
        "drop function if exists run_timing(run_status, timestamptz, timestamptz,"
        " double precision, timestamptz)"
    )
    op.drop_table("runs")
    op.drop_index(op.f("ix_pipelines_name"), table_name="pipelines")
    op.drop_table("pipelines")
    sa.Enum(name="run_status").drop(op.get_bind(), checkfirst=True)
