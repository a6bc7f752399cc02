"""Pipelines: removal (reads are in analytics)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_DELETE_PIPELINE = text("select delete_pipeline(:name)")


def delete_pipeline(session: Session, name: str) -> int | None:
    """Remove a pipeline with its runs and everything derived from them; how many runs it had,
    or None when there is no such pipeline."""
    removed: int | None = session.execute(_DELETE_PIPELINE, {"name": name}).scalar_one()
    return removed
