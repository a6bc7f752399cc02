"""pipeline hour totals: unfiltered summaries from running totals per hour

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables this migration replaces, as rebuild_rollups v02 filled them.
FILL_PREVIOUS = """
insert into pipeline_hour_rollups (
    pipeline_id, bucket_start,
    running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
)
select
    pipeline_id, bucket_start,
    sum(running), sum(success), sum(failure), sum(cancelled), sum(skipped),
    sum(decided_duration_ms), hist_sum(duration_hist)
from run_rollups
where grain = 'hour'
group by pipeline_id, bucket_start;

insert into pipeline_day_totals (
    pipeline_id, day_start,
    running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
)
with days as (
    select
        pipeline_id,
        bucket_start as day_start,
        sum(running) as running,
        sum(success) as success,
        sum(failure) as failure,
        sum(cancelled) as cancelled,
        sum(skipped) as skipped,
        sum(decided_duration_ms) as decided_duration_ms,
        hist_sum(duration_hist) as duration_hist
    from run_rollups
    where grain = 'day'
    group by pipeline_id, bucket_start
)
select
    pipeline_id,
    ((day_start at time zone 'UTC') + interval '1 day') at time zone 'UTC',
    sum(running) over upto,
    sum(success) over upto,
    sum(failure) over upto,
    sum(cancelled) over upto,
    sum(skipped) over upto,
    sum(decided_duration_ms) over upto,
    hist_sum(duration_hist) over upto
from days
window upto as (
    partition by pipeline_id order by day_start rows between unbounded preceding and current row
);
"""


def _figures() -> list[sa.Column[Any]]:
    counts = ("running", "success", "failure", "cancelled", "skipped", "decided_duration_ms")
    return [
        *(sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in counts),
        sa.Column("duration_hist", sa.ARRAY(sa.Integer()), nullable=True),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "pipeline_hour_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_hour_totals_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", "hour_start", name=op.f("pk_pipeline_hour_totals")),
    )
    run_sql_file(bind, "functions/pipeline_totals_v01.sql")
    run_sql_file(bind, "functions/rebuild_rollups_v03.sql")
    run_sql_file(bind, "functions/run_summary_v04.sql")
    op.execute("select pipeline_hour_totals_rebuild(id) from pipelines")
    op.drop_index("ix_pipeline_hour_rollups_bucket_start", table_name="pipeline_hour_rollups")
    op.drop_table("pipeline_hour_rollups")
    op.drop_table("pipeline_day_totals")


def downgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "pipeline_day_totals",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("day_start", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
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
        *_figures(),
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
    bind.exec_driver_sql(FILL_PREVIOUS, execution_options={"no_parameters": True})
    # pipeline_rollup_add v01 lives in rollups_v01.sql, beside v01 of the recovery functions
    # 0006 replaced: run it with bodies unchecked (recovery_rollups is gone), then put 0006's
    # recovery functions back and drop the one it dropped.
    op.execute("set local check_function_bodies = off")
    run_sql_file(bind, "functions/rollups_v01.sql")
    op.execute("set local check_function_bodies = on")
    run_sql_file(bind, "functions/recovery_totals_v01.sql")
    op.execute("drop function recovery_rollup_add(recoveries, integer)")
    run_sql_file(bind, "functions/rebuild_rollups_v02.sql")
    run_sql_file(bind, "functions/run_summary_v03.sql")
    op.execute("drop function pipeline_hour_totals_rebuild(integer)")
    op.drop_table("pipeline_hour_totals")
