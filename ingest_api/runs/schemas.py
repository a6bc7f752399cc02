"""What CI systems send to POST /api/events/run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from analytics.models import RunStatus

# The bounds of a run (run_timing v02 and the check constraints on runs apply the same): times
# from 2000-01-01 to now + 5 minutes (the database clock), durations up to 35 days, GitHub's
# limit for a workflow run. A Go client sending a time.Duration (nanoseconds) gets a 422.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_DURATION_SEC = 35 * 86_400
_TIME_BOUNDS: dict[str, JsonValue] = {"formatMinimum": "2000-01-01T00:00:00Z"}


class RunEvent(BaseModel):
    """One report of a run: its start, its result, or both at once. Unknown fields are ignored
    (and named in the X-Pulse-Ignored-Fields response header)."""

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
        "finished_at - duration_sec, else finished_at. Naive times are UTC. From 2000-01-01 "
        "to 5 minutes past the database's clock.",
        json_schema_extra=_TIME_BOUNDS,
    )
    finished_at: datetime | None = Field(
        default=None,
        description="Finished runs only. Defaults to started_at + duration_sec when both are "
        "given, else the time of receipt. From 2000-01-01 to 5 minutes past the database's "
        "clock.",
        json_schema_extra=_TIME_BOUNDS,
    )
    duration_sec: float | None = Field(
        default=None,
        ge=0,
        le=MAX_DURATION_SEC,
        allow_inf_nan=False,
        description="Finished runs only, in seconds, up to 35 days. Defaults to finished_at - "
        "started_at; must agree with them within 1 s. Stored to the millisecond.",
    )
    branch: str | None = Field(
        default=None, max_length=255, description="Trimmed of surrounding white space."
    )
    commit: str | None = Field(
        default=None, max_length=64, description="Trimmed of surrounding white space."
    )
    triggered_by: str | None = Field(
        default=None, max_length=255, description="Trimmed of surrounding white space."
    )
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
    attempt: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="The CI run's attempt (GitHub's run_attempt): a re-run of a run is 2, 3...",
    )
    conclusion: str | None = Field(
        default=None,
        max_length=64,
        description="The CI's own result as it names it (e.g. GitHub's `timed_out`); status "
        "carries its meaning for the figures.",
    )

    # Fields the body carried that a run does not have (X-Pulse-Ignored-Fields).
    _ignored: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _note_ignored(cls, data: Any, handler: ModelWrapValidatorHandler[RunEvent]) -> RunEvent:
        event = handler(data)
        if isinstance(data, dict):
            event._ignored = sorted(str(key) for key in data if key not in cls.model_fields)
        return event

    @property
    def ignored_fields(self) -> list[str]:
        return self._ignored

    @field_validator("pipeline")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    # As the pipeline's name: " main " and "main" are one branch in every menu and filter.
    @field_validator("branch", "commit", "triggered_by")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return None if value is None else value.strip()

    @field_validator(
        "pipeline", "branch", "commit", "triggered_by", "external_id", "source", "url", "conclusion"
    )
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
        try:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset that leaves the calendar
            raise ValueError("must lie between 2000-01-01 and now + 5 minutes") from None
        if value < EARLIEST:
            raise ValueError("must be 2000-01-01 or later")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value
