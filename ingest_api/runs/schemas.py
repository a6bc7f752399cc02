"""What CI systems send to POST /api/events/run."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest_api.models import RunStatus


class RunEvent(BaseModel):
    """One report of a run: its start, its result, or both at once. Unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "pipeline": "web",
                    "status": "success",
                    "started_at": "2025-08-25T20:28:03Z",
                    "finished_at": "2025-08-25T20:28:10Z",
                    "duration_sec": 7,
                    "branch": "main",
                    "commit": "5184f9c0d2b1a6e8f7c3b9a4d5e6f7a8b9c0d1e2",
                    "triggered_by": "octocat",
                    "external_id": "1234567890-1",
                    "source": "github",
                    "url": "https://github.com/acme/web/actions/runs/1234567890",
                }
            ]
        },
    )

    pipeline: str = Field(min_length=1, max_length=200, description="Pipeline (workflow) name.")
    status: RunStatus
    started_at: datetime | None = Field(
        default=None,
        description="Defaults: a running run, the time of receipt; a finished one, "
        "finished_at - duration_sec, else finished_at. Naive times are UTC.",
    )
    finished_at: datetime | None = Field(
        default=None,
        description="Finished runs only. Defaults to started_at + duration_sec when both are "
        "given, else the time of receipt.",
    )
    duration_sec: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Finished runs only. Defaults to finished_at - started_at; must agree with "
        "them within 1 s. Stored to the millisecond.",
    )
    branch: str | None = Field(default=None, max_length=255)
    commit: str | None = Field(default=None, max_length=64)
    triggered_by: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="With source, names one run: a repeat updates it instead of adding a run.",
    )
    source: str = Field(default="api", min_length=1, max_length=64)
    url: str | None = Field(
        default=None, max_length=2048, description="Link to the run in the CI system (http(s))."
    )

    @field_validator("pipeline")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("pipeline", "branch", "commit", "triggered_by", "external_id", "source", "url")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("started_at", "finished_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value
