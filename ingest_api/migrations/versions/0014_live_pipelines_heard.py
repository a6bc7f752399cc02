"""live figures: the pipeline of each change is heard with it, and a whole computation probes

runs_notify v03 announces `<run id>:<pipeline id>`, so the live hub recomputes a deleted run's
pipeline rather than every pipeline of every subscription. run_summary_lines v02 reads the
window edges' runs per pipeline when every pipeline is in scope (a first or whole
computation), where v01's plan read all of runs (5 s at 10M runs; now 50 ms).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "triggers/runs_notify_v03.sql")
    run_sql_file(bind, "functions/run_summary_lines_v02.sql")


def downgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "triggers/runs_notify_v02.sql")
    run_sql_file(bind, "functions/run_summary_lines_v01.sql")
