"""Keyword-only factories for test data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from analytics.models import RunOut
from ingest_api.runs import service
from ingest_api.runs.schemas import RunEvent


def event_body(
    *,
    pipeline: str = "web",
    status: str = "success",
    started_at: datetime | str | None = None,
    finished_at: datetime | str | None = None,
    duration_sec: float | None = None,
    branch: str | None = "main",
    commit: str | None = "5184f9c0d2b1a6e8f7c3b9a4d5e6f7a8b9c0d1e2",
    triggered_by: str | None = "octocat",
    external_id: str | None = None,
    source: str | None = None,
    url: str | None = None,
    attempt: int | None = None,
    conclusion: str | None = None,
) -> dict[str, Any]:
    """A JSON body for POST /api/events/run; None leaves a field out."""
    body: dict[str, Any] = {
        "pipeline": pipeline,
        "status": status,
        "started_at": started_at.isoformat() if isinstance(started_at, datetime) else started_at,
        "finished_at": finished_at.isoformat()
        if isinstance(finished_at, datetime)
        else finished_at,
        "duration_sec": duration_sec,
        "branch": branch,
        "commit": commit,
        "triggered_by": triggered_by,
        "external_id": external_id,
        "source": source,
        "url": url,
        "attempt": attempt,
        "conclusion": conclusion,
    }
    return {key: value for key, value in body.items() if value is not None}


def ingest(session: Session, **fields: Any) -> RunOut:
    """Store one event through the service, as the API does."""
    return service.ingest(session, RunEvent.model_validate(event_body(**fields)))
