"""Parameters the read routes share, and the one model GET /api/metrics/summary and
WS /ws/metrics validate theirs with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

# A year: the longest window the running totals are read over (and the contract's bound).
MAX_WINDOW_MINUTES = 525_600

_PIPELINE = "Only this pipeline; empty or absent: every pipeline."
_BRANCH = "Only this branch; empty or absent: every branch."

# PostgreSQL text cannot hold NUL: a name with one is refused (422) by a pattern the document
# states, not failed in the database (the fuzzer's `branch=%00` was a 500).
NO_NUL = r"^[^\x00]*$"

# As the contract's URL templates write them (`?pipeline=&branch=`), an empty filter is no
# filter: routes pass `value or None` on.
PipelineFilter = Annotated[str | None, Query(description=_PIPELINE, pattern=NO_NUL)]
BranchFilter = Annotated[str | None, Query(description=_BRANCH, pattern=NO_NUL)]


class SummaryQuery(BaseModel):
    """The window and filters of a summary, from a query string."""

    model_config = ConfigDict(extra="ignore")

    minutes: int = Field(
        default=1440,
        ge=1,
        le=MAX_WINDOW_MINUTES,
        description="The window: runs with now - minutes < started_at <= now.",
    )
    pipeline: str | None = Field(default=None, description=_PIPELINE, pattern=NO_NUL)
    branch: str | None = Field(default=None, description=_BRANCH, pattern=NO_NUL)

    @field_validator("pipeline", "branch")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None
