"""bounds and deletes: every stored run within range; delete_run, delete_runs, delete_pipeline

Check constraints keep every run one that clients and reads can represent (times from
2000-01-01, durations up to 35 days); run_timing v02 rejects the rest with a 422 naming the
field. Removal functions take the pipeline's lock as ingest does, and bulk removals rebuild the
rollups once instead of row by row (runs_keep_rollups v02).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import logging
from collections.abc import Sequence

from alembic import op

from ingest_api.sqlfiles import run_sql_file

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# name -> condition; the bounds of run_timing v02 and RunEvent. The upper bound of times is "now
# + 5 minutes" at ingest; here a fixed far one keeps any stored time representable.
EARLIEST, LATEST = "'2000-01-01 00:00:00+00'", "'2200-01-01 00:00:00+00'"
CHECKS = {
    "duration_sec_range": "duration_sec is null or (duration_sec >= 0 and duration_sec <= 3024000)",
    "started_at_range": f"started_at >= {EARLIEST} and started_at < {LATEST}",
    "finished_at_range": (
        f"finished_at is null or (finished_at >= started_at and finished_at < {LATEST})"
    ),
}
FUNCTIONS = (
    "functions/run_timing_v02.sql",
    "functions/ingest_run_v03.sql",
    "functions/runs_keep_rollups_v02.sql",
    "functions/delete_runs_v01.sql",
)
PREVIOUS = (
    "functions/run_timing_v01.sql",
    "functions/ingest_run_v02.sql",
    "functions/runs_keep_rollups_v01.sql",
)


def upgrade() -> None:
    bind = op.get_bind()
    for name, condition in CHECKS.items():
        op.execute(f"alter table runs add constraint ck_runs_{name} check ({condition}) not valid")
    # Rows an earlier version stored out of range stay readable (the read path skips what it
    # cannot show) until removed; then the constraints can be validated.
    outside = " or ".join(f"not ({condition})" for condition in CHECKS.values())
    count = bind.exec_driver_sql(f"select count(*) from runs where {outside}").scalar_one()  # noqa: S608
    if count == 0:
        for name in CHECKS:
            op.execute(f"alter table runs validate constraint ck_runs_{name}")
    else:
        log.warning(
            "%s stored runs hold times before 2000, after 2200 or durations over 35 days; "
            "the read routes skip them; `pulse runs delete` removes them.",
            count,
        )
    for path in FUNCTIONS:
        run_sql_file(bind, path)


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("drop function delete_pipeline(text)")
    op.execute("drop function delete_runs(text, text, timestamptz, boolean)")
    op.execute("drop function delete_run(bigint)")
    for path in PREVIOUS:
        run_sql_file(bind, path)
    for name in CHECKS:
        op.execute(f"alter table runs drop constraint ck_runs_{name}")
