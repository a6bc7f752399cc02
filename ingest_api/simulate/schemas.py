from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator


class SimulateRequest(BaseModel):
    # The item bounds are in the schema so the document states them (the fuzzer found them
    # missing); the validator still refuses names that are blank once trimmed, or hold NUL.
    pipelines: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: ["web", "api"], min_length=1, max_length=50
    )

    @field_validator("pipelines")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip() for n in names]
        if any(not n or len(n) > 200 or "\x00" in n for n in cleaned):
            raise ValueError("each pipeline name must be 1-200 characters")
        return cleaned


class SimulateOut(BaseModel):
    created: int
    pipelines: list[str]
    source: str = "simulator"
