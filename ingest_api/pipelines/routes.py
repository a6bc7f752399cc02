"""GET /api/pipelines."""

from __future__ import annotations

from fastapi import APIRouter

import analytics
from analytics.models import PipelineOut
from ingest_api.db import SessionDep

router = APIRouter(prefix="/api/pipelines", tags=["pipelines"])


@router.get("")
def list_pipelines(session: SessionDep) -> list[PipelineOut]:
    """Every pipeline, by name, with its branches (most recent first) and all-time health."""
    return analytics.pipelines(session)
