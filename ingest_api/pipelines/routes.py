"""GET /api/pipelines and DELETE /api/pipelines/{name}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

import analytics
from analytics.models import PipelineOut
from ingest_api.auth import IngestAuth
from ingest_api.db import SessionDep
from ingest_api.errors import RATE_LIMITED, NotFound, documented
from ingest_api.filters import NO_NUL
from ingest_api.pipelines import service

router = APIRouter(prefix="/api/pipelines", tags=["pipelines"])


class PipelineDeleted(BaseModel):
    pipeline: str
    runs_deleted: int


@router.get("")
def list_pipelines(session: SessionDep) -> list[PipelineOut]:
    """Every pipeline, by name, with its branches (most recent first) and all-time health."""
    return analytics.pipelines(session)


@router.delete(
    "/{name:path}",
    dependencies=[IngestAuth],
    responses=documented(
        {
            401: "Missing or wrong token, or none configured.",
            404: "No pipeline has this name.",
            422: "The name is longer than 200 characters, or holds NUL.",
            429: RATE_LIMITED,
        }
    ),
)
def delete_pipeline(
    session: SessionDep,
    name: Annotated[
        str, Path(min_length=1, max_length=200, pattern=NO_NUL, description="May contain /.")
    ],
) -> PipelineDeleted:
    """Remove a pipeline with all its runs and everything derived from them (rollups, health,
    daily history). An ingest of that name afterwards starts it afresh."""
    removed = service.delete_pipeline(session, name)
    if removed is None:
        raise NotFound(f"no pipeline is named {name!r}")
    return PipelineDeleted(pipeline=name, runs_deleted=removed)
