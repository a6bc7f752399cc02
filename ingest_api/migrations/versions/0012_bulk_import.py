"""bulk import: `pulse import` writes runs set-based with the row triggers skipped

import_runs, import_runs_finish and import_problems (sql/functions); the row triggers on runs,
and recoveries_mark_history, gain a WHEN condition that skips them while `pulse.importing` is
on in the transaction (their functions are unchanged), so an import queues no trigger event.
For rebuild_rollups, the same rows sooner: hist_merge v02 sums histograms twice as fast, and
hour_totals_rebuild v02 needs no temporary table per pipeline.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = {
    "runs_keep_totals": ("v02", "v01"),
    "runs_mark_history": ("v03", "v02"),
    "runs_decide_alerts": ("v02", "v01"),
    "runs_notify": ("v02", "v01"),
    "recoveries_mark_history": ("v03", "v02"),
}
_FUNCTIONS = ("import_runs", "import_runs_finish", "import_problems")


def upgrade() -> None:
    bind = op.get_bind()
    for name, (new, _) in _TRIGGERS.items():
        run_sql_file(bind, f"triggers/{name}_{new}.sql")
    for name in _FUNCTIONS:
        run_sql_file(bind, f"functions/{name}_v01.sql")
    run_sql_file(bind, "functions/hist_merge_v02.sql")
    run_sql_file(bind, "functions/hour_totals_rebuild_v02.sql")


def downgrade() -> None:
    bind = op.get_bind()
    run_sql_file(bind, "functions/hist_merge_v01.sql")
    run_sql_file(bind, "functions/hour_totals_rebuild_v01.sql")
    op.execute("drop function import_problems()")
    op.execute("drop function import_runs_finish(integer[], bigint)")
    op.execute("drop function import_runs()")
    for name, (_, old) in _TRIGGERS.items():
        run_sql_file(bind, f"triggers/{name}_{old}.sql")
