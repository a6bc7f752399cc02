from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    ok: bool
    time: datetime = Field(description="The database clock.")


class LiveOut(BaseModel):
    """The live hub of the API process that answered (each process has its own)."""

    listening: bool = Field(description="Whether it hears the database's run notifications.")
    tick_ms: int = Field(description="The coalescing tick (PULSE_LIVE_TICK_MS).")
    clients: int = Field(description="Open /ws/metrics connections.")
    subscriptions: int = Field(description="Distinct (minutes, pipeline, branch) among them.")
    summaries_computed: int = Field(description="Since the process started.")
    messages_offered: int = Field(description="Messages handed to clients since it started.")


class InfoOut(BaseModel):
    product: str = "Pipeline Pulse"
    version: str
    database: Literal["embedded", "external"]
    database_version: str = Field(description="The PostgreSQL server's version.")
    demo: bool = Field(description="Whether POST /api/simulate is open (PULSE_DEMO).")
    environment: str = Field(description="The hint the dashboard shows in its header.")
    api_url: str = Field(description="Where clients reach this API (PULSE_PUBLIC_URL).")
    live: LiveOut
