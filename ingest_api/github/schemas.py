"""The parts of GitHub's `workflow_run` and `workflow_job` deliveries we use.

Deliveries vary with their age and origin (older ones lack `run_attempt`, `run_started_at`,
`actor` or runner fields; Enterprise adds keys; a skipped job has no runner), so everything
beyond the identity is optional and unknown keys are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# GitHub's own limits are well inside these; they only keep an absurd delivery out.
Name = Annotated[str, StringConstraints(max_length=1024)]
Url = Annotated[str, StringConstraints(max_length=2048)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Account(_Lenient):
    login: Name | None = None


class Repository(_Lenient):
    full_name: Name
    html_url: Url | None = None


class WorkflowRun(_Lenient):
    id: int = Field(ge=1, le=2**63 - 1)
    name: Name | None = None
    path: Name | None = None
    run_attempt: int | None = Field(default=None, ge=1, le=1_000_000)
    status: Name | None = None
    conclusion: Name | None = None
    head_branch: Name | None = None
    head_sha: Name | None = None
    html_url: Url | None = None
    created_at: datetime
    updated_at: datetime | None = None
    run_started_at: datetime | None = None
    actor: Account | None = None
    triggering_actor: Account | None = None


class WorkflowRunDelivery(_Lenient):
    action: Name | None = None
    workflow_run: WorkflowRun
    repository: Repository


class Step(_Lenient):
    name: Name
    number: int = Field(ge=0, le=1_000_000)
    status: Name | None = None
    conclusion: Name | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


class WorkflowJob(_Lenient):
    id: int = Field(ge=1, le=2**63 - 1)
    run_id: int = Field(ge=1, le=2**63 - 1)
    run_attempt: int | None = Field(default=None, ge=1, le=1_000_000)
    name: Name
    status: Name | None = None
    conclusion: Name | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    runner_name: Name | None = None
    runner_group_name: Name | None = None
    labels: list[Name] = Field(default_factory=list, max_length=100)
    steps: list[Step] = Field(default_factory=list, max_length=1000)
    html_url: Url | None = None
    head_branch: Name | None = None


class WorkflowJobDelivery(_Lenient):
    action: Name | None = None
    workflow_job: WorkflowJob
    repository: Repository
