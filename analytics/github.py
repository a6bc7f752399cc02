"""GitHub's detail: a run's jobs (from workflow_job deliveries) and the deliveries log."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import DeliveryOut, JobOut

# A webhook run's external id is "<run id>-<attempt>" (source github).
_GITHUB_KEY = re.compile(r"(\d+)-(\d+)")

_RUN_KEY = text("select source, external_id from runs where id = :run_id")
_JOBS = text(
    """
    select
        id, name, status, conclusion, created_at, started_at, completed_at,
        extract(epoch from started_at - created_at)::float8 as queue_sec,
        extract(epoch from completed_at - started_at)::float8 as duration_sec,
        runner_name, runner_group, runner_labels, steps, url
    from github_jobs
    where run_id = :github_run_id and run_attempt = :attempt
    order by coalesce(started_at, created_at), id
    """
)
_DELIVERIES = text(
    """
    select id, event, action, received_at, outcome, run_id
    from github_deliveries
    order by received_at desc, id
    limit :limit
    """
)


def run_jobs(session: Session, run_id: int) -> list[JobOut] | None:
    """The jobs GitHub reported for a run, in the order they started; None when there is no
    such run. Runs not from the webhook have none."""
    key = session.execute(_RUN_KEY, {"run_id": run_id}).one_or_none()
    if key is None:
        return None
    match = _GITHUB_KEY.fullmatch(key.external_id or "") if key.source == "github" else None
    if match is None:
        return []
    rows = session.execute(
        _JOBS, {"github_run_id": int(match[1]), "attempt": int(match[2])}
    ).mappings()
    return [JobOut.model_validate(dict(row)) for row in rows]


def deliveries(session: Session, *, limit: int = 50) -> list[DeliveryOut]:
    """The latest GitHub deliveries, newest first."""
    rows = session.execute(_DELIVERIES, {"limit": limit}).mappings()
    return [DeliveryOut.model_validate(dict(row)) for row in rows]
