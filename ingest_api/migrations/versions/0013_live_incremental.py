"""live figures that follow changes: the hub recomputes only the pipelines a tick changed

run_summary v02 and pipeline_health v02 take the time they describe (`p_as_of`, default now);
pipeline_health v02 also takes the pipelines to compute (`p_pipeline_ids`, default all).
run_summary_lines gives run_summary's per-pipeline lines for some pipelines with what the live
hub needs to merge the overall figures; summary_edge_pipelines names, for every span a tick's
window edges passed, the pipelines (and branches) of the runs and recoveries in it
(sql/functions). runs_notify v03 announces `<run id>:<pipeline id>`, so the hub knows a deleted
run's pipeline too; import_runs_finish v02 announces "*" (every subscription recomputes).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    # New parameters make a new signature: the old one goes, so calls stay unambiguous.
    op.execute("drop function run_summary(integer, text, text, integer)")
    op.execute("drop function pipeline_health(integer, text, text)")
    run_sql_file(bind, "functions/run_summary_v02.sql")
    run_sql_file(bind, "functions/pipeline_health_v02.sql")
    run_sql_file(bind, "functions/run_summary_lines_v01.sql")
    run_sql_file(bind, "functions/summary_edge_pipelines_v01.sql")
    run_sql_file(bind, "triggers/runs_notify_v03.sql")
    run_sql_file(bind, "functions/import_runs_finish_v02.sql")


def downgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "functions/import_runs_finish_v01.sql")
    run_sql_file(bind, "triggers/runs_notify_v02.sql")
    op.execute("drop function summary_edge_pipelines(timestamptz[], timestamptz[])")
    op.execute(
        "drop function run_summary_lines("
        "integer, text, text, integer[], timestamptz, integer, bigint)"
    )
    op.execute("drop function pipeline_health(integer, text, text, timestamptz, integer[])")
    op.execute("drop function run_summary(integer, text, text, integer, timestamptz)")
    run_sql_file(bind, "functions/run_summary_v01.sql")
    run_sql_file(bind, "functions/pipeline_health_v01.sql")
