"""The read path's shapes, shared by the API's responses and the Streamlit pages."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator


class RunStatus(enum.StrEnum):
    """A run's status: the one definition (the database's run_status type has the same values;
    the write side's models use this class)."""

    running = "running"
    success = "success"
    failure = "failure"
    cancelled = "cancelled"
    skipped = "skipped"


DecidedStatus = Literal["success", "failure"]

# Windows of at most this many runs get exact percentiles (bounded work); larger ones the
# rollups' histogram estimate, within 1.96 % + 0.5 ms.
EXACT_PERCENTILES_UP_TO = 2000
_PERCENTILE_NOTE = (
    f"percentile_cont's value, exact up to {EXACT_PERCENTILES_UP_TO:,} runs in the window, else "
    "within 1.96 % + 0.5 ms (from the rollups' duration histograms, which record durations in "
    "whole milliseconds)."
)


class RunOut(BaseModel):
    """A stored run: the seed's run shape plus id, external_id, source and url."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pipeline: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    duration_sec: float | None
    branch: str
    commit: str
    triggered_by: str
    external_id: str | None
    source: str
    url: str | None
    attempt: int | None = Field(
        default=None, description="The CI run's attempt: a re-run of the same run is 2, 3..."
    )
    conclusion: str | None = Field(
        default=None, description="The CI's own result as it sent it (GitHub's conclusion)."
    )

    @field_validator("duration_sec")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # A row stored before the bounds existed may hold NaN, which JSON cannot carry.
        return value if value is None or math.isfinite(value) else None


class Health(BaseModel):
    """All-time health of a pipeline (or of one branch of it), by its decided runs."""

    state: Literal["passing", "failing", "unknown"] = Field(
        description="By the latest decided run by finished_at; unknown when there is none."
    )
    failure_streak: int = Field(
        description="Consecutive failures ending at the latest decided run."
    )
    failing_since: datetime | None = Field(
        description="finished_at of the streak's first failure; null when passing."
    )
    last_success_at: datetime | None
    last_failure_at: datetime | None
    mean_time_to_green_sec: float | None = Field(
        description="Mean over failure episodes that recovered inside the window of (recovering "
        "success's finished_at - episode's first failure's finished_at)."
    )


class Totals(BaseModel):
    total: int = Field(description="Every run that started in the window.")
    success: int
    failure: int
    running: int
    cancelled: int
    skipped: int
    success_rate: float | None = Field(
        description="success / (success + failure), 4 decimals; null when both are 0."
    )
    avg_duration_sec: float | None = Field(description="Over the window's decided runs.")
    p50_duration_sec: float | None = Field(
        description=f"Median duration of the window's decided runs: {_PERCENTILE_NOTE}"
    )
    p95_duration_sec: float | None = Field(
        description=f"95th percentile duration of the window's decided runs: {_PERCENTILE_NOTE}"
    )
    last_status: DecidedStatus | None = Field(
        description="The window's decided run with the latest finished_at (ties by id)."
    )
    last_finished_at: datetime | None


class PipelineSummary(Totals):
    pipeline: str
    health: Health


class Summary(Totals):
    window_minutes: int
    as_of: datetime = Field(description="The database time the figures describe.")
    per_pipeline: list[PipelineSummary] = Field(
        description="One entry per pipeline with a run in the window, sorted by name."
    )


class LastAlert(BaseModel):
    """The latest alert a pipeline's runs set off (GET /api/alerts has them all)."""

    id: int
    kind: Literal["failing", "reminder", "recovered", "failure"]
    branch: str
    state: Literal["pending", "sent", "failed", "skipped"]
    created_at: datetime
    sent_at: datetime | None


class PipelineOut(BaseModel):
    id: int
    name: str
    branches: list[str] = Field(description="Branches with runs, most recent first.")
    total_runs: int
    last_run_at: datetime | None
    url: str | None = Field(
        default=None, description="The pipeline in its CI (a GitHub workflow's page), if known."
    )
    last_alert: LastAlert | None = Field(
        default=None, description="Its latest alert (mail), if any, and how its delivery went."
    )
    health: Health


class StepOut(BaseModel):
    number: int
    name: str
    status: str | None = None
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_sec(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()


class JobOut(BaseModel):
    """A GitHub job of a run (from workflow_job deliveries)."""

    id: int = Field(description="GitHub's job id.")
    name: str
    status: str = Field(description="GitHub's: queued, waiting, in_progress or completed.")
    conclusion: str | None = Field(description="GitHub's, once completed.")
    created_at: datetime | None = Field(description="Queued at.")
    started_at: datetime | None
    completed_at: datetime | None
    queue_sec: float | None = Field(
        description="started_at - created_at: the time it waited for a runner."
    )
    duration_sec: float | None = Field(description="completed_at - started_at.")
    runner_name: str | None
    runner_group: str | None
    runner_labels: list[str]
    url: str | None
    steps: list[StepOut]


class DeliveryOut(BaseModel):
    """A GitHub webhook delivery as it arrived."""

    id: str = Field(description="X-GitHub-Delivery.")
    event: str
    action: str | None
    received_at: datetime
    outcome: str = Field(description="stored (a run or job), or pong (a ping).")
    run_id: int | None = Field(description="The run a workflow_run delivery set.")
