"""The write path: one event, one call of the database's `ingest_run` function."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import RunOut
from ingest_api.runs.schemas import RunEvent

_INGEST = text(
    """
    select id, status, started_at, finished_at, duration_sec, branch, commit, triggered_by,
           external_id, source, url
    from ingest_run(
        :pipeline, cast(:status as run_status), :started_at, :finished_at, :duration_sec,
        :branch, :commit, :triggered_by, :source, :external_id, :url
    )
    """
)


def ingest(session: Session, event: RunEvent) -> RunOut:
    """Store the event by the contract's identity and transition rules; return the stored run."""
    row = session.execute(_INGEST, event.model_dump()).mappings().one()
    return RunOut.model_validate({**row, "pipeline": event.pipeline})
