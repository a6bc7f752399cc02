"""alerts: decided in the write transaction, delivered by pulse worker

An alert row is written by the trigger runs_decide_alerts when a run changes the state of its
pipeline on an alerting branch (sql/triggers/runs_decide_alerts_v01.sql); pulse worker delivers
it over SMTP (ingest_api/alerts), recording each attempt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ingest_api.sqlfiles import run_sql_file

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "alert_settings",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("branches", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("policy", sa.String(length=16), server_default="transitions", nullable=False),
        sa.Column("reminder_min", sa.Integer(), server_default="30", nullable=False),
        sa.Column("simulated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("id", name=op.f("ck_alert_settings_one_row")),
        sa.CheckConstraint(
            "policy in ('transitions', 'every')", name=op.f("ck_alert_settings_policy")
        ),
        sa.CheckConstraint("reminder_min >= 0", name=op.f("ck_alert_settings_reminder_min")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_settings")),
    )
    op.execute("insert into alert_settings (branches) values ('{main,master}')")
    op.create_table(
        "alert_states",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_green_commit", sa.String(length=64), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_run_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_alert_states_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "branch", name=op.f("pk_alert_states")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "facts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind in ('failing', 'reminder', 'recovered', 'failure')", name=op.f("ck_alerts_kind")
        ),
        sa.CheckConstraint(
            "state in ('pending', 'sent', 'failed', 'skipped')", name=op.f("ck_alerts_state")
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_alerts_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_alerts_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "ix_alerts_due",
        "alerts",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_alerts_pipeline_id_id", "alerts", ["pipeline_id", "id"], unique=False)
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_attempts_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_attempts")),
    )
    op.create_index("ix_alert_attempts_alert_id", "alert_attempts", ["alert_id"], unique=False)
    bind = op.get_bind()
    run_sql_file(bind, "functions/alert_decide_v01.sql")
    run_sql_file(bind, "triggers/runs_decide_alerts_v01.sql")


def downgrade() -> None:
    op.execute("drop trigger runs_decide_alerts on runs")
    op.execute("drop function runs_decide_alerts()")
    op.execute("drop function alert_decide(integer, text, boolean, alert_settings, runs)")
    op.drop_index("ix_alert_attempts_alert_id", table_name="alert_attempts")
    op.drop_table("alert_attempts")
    op.drop_index("ix_alerts_pipeline_id_id", table_name="alerts")
    op.drop_index("ix_alerts_due", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_states")
    op.drop_table("alert_settings")
