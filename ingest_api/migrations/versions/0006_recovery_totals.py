"""recovery totals: time to green from running totals per hour, in place of recovery_rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# recovery_rollups as its triggers kept it: each recovery once per grain.
FILL_RECOVERY_ROLLUPS = """
insert into recovery_rollups (
    grain, pipeline_id, per_branch, branch, bucket_start, recoveries, time_to_green_us
)
select
    grains.grain,
    recoveries.pipeline_id,
    recoveries.per_branch,
    case when recoveries.per_branch then recoveries.branch else '' end,
    date_trunc(grains.grain, recoveries.recovered_at at time zone 'UTC') at time zone 'UTC',
    count(*),
    sum(recoveries.time_to_green_us)
from recoveries
cross join (values ('hour'), ('day'), ('month')) as grains (grain)
group by 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "recovery_totals",
        sa.Column("per_branch", sa.Boolean(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recoveries", sa.BigInteger(), nullable=False),
        sa.Column("time_to_green_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_recovery_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint(
            "per_branch", "pipeline_id", "branch", "hour_start", name=op.f("pk_recovery_totals")
        ),
    )
    run_sql_file(bind, "functions/recovery_totals_v01.sql")
    run_sql_file(bind, "functions/rebuild_rollups_v02.sql")
    run_sql_file(bind, "functions/pipeline_health_v03.sql")
    op.execute("select recovery_totals_rebuild(id) from pipelines")
    op.execute("drop function recovery_rollup_add(recoveries, integer)")
    op.drop_index("ix_recovery_rollups_grain_bucket_start", table_name="recovery_rollups")
    op.drop_table("recovery_rollups")


def downgrade() -> None:
    bind = op.get_bind()
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
    op.execute(FILL_RECOVERY_ROLLUPS)
    # v01 of the rollup functions brings back recovery_rollup_add and the trigger reading it.
    run_sql_file(bind, "functions/rollups_v01.sql")
    run_sql_file(bind, "functions/rebuild_rollups_v01.sql")
    run_sql_file(bind, "functions/pipeline_health_v02.sql")
    op.execute("drop function recovery_totals_rebuild(integer)")
    op.execute("drop function recovery_totals_add(recoveries, integer)")
    op.drop_table("recovery_totals")
