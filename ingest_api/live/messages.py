"""The messages of WS /ws/metrics. Each is serialized once and sent as is to every client."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from analytics.models import RunOut, Summary


class MetricsUpdate(BaseModel):
    type: Literal["metrics_update"] = "metrics_update"
    as_of: datetime = Field(description="The database time the summary describes.")
    payload: Summary


class RunsUpdate(BaseModel):
    type: Literal["runs_update"] = "runs_update"
    as_of: datetime
    payload: list[RunOut] = Field(description="Runs that changed, newest started_at first.")


class RunsDeleted(BaseModel):
    type: Literal["runs_deleted"] = "runs_deleted"
    as_of: datetime
    payload: list[int] = Field(description="Ids of runs that were removed.")


class Heartbeat(BaseModel):
    type: Literal["heartbeat"] = "heartbeat"
    as_of: datetime = Field(description="Nothing the client watches changed up to this time.")


def metrics_update(summary: Summary) -> str:
    return MetricsUpdate(as_of=summary.as_of, payload=summary).model_dump_json()


def runs_update(runs: list[RunOut], as_of: datetime) -> str:
    return RunsUpdate(as_of=as_of, payload=runs).model_dump_json()


def runs_deleted(ids: list[int], as_of: datetime) -> str:
    return RunsDeleted(as_of=as_of, payload=ids).model_dump_json()


def heartbeat(as_of: datetime) -> str:
    return Heartbeat(as_of=as_of).model_dump_json()
