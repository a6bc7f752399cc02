"""Filters the read routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# As the contract's URL templates write them (`?pipeline=&branch=`), an empty filter is no
# filter: routes pass `value or None` on. WS /ws/metrics reads its parameters the same way.
PipelineFilter = Annotated[
    str | None, Query(description="Only this pipeline; empty or absent: every pipeline.")
]
BranchFilter = Annotated[
    str | None, Query(description="Only this branch; empty or absent: every branch.")
]
