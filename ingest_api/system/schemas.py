from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    ok: bool
    time: datetime = Field(description="The database clock.")


class InfoOut(BaseModel):
    product: str = "Pipeline Pulse"
    version: str
    database: Literal["embedded", "external"]
    database_version: str = Field(description="The PostgreSQL server's version.")
    demo: bool = Field(description="Whether POST /api/simulate is open (PULSE_DEMO).")
    environment: str = Field(description="The hint the dashboard shows in its header.")
    api_url: str = Field(description="Where clients reach this API (PULSE_PUBLIC_URL).")
