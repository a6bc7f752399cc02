"""The messages of WS /ws/metrics. Each is serialized once and sent as is to every client."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter

from analytics.models import RunOut

_DATETIME = TypeAdapter(datetime)


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


def metrics_update_json(as_of: datetime, payload_json: str) -> str:
    """`{"type": "metrics_update", "as_of": ..., "payload": <summary>}` around a summary
    serialized already (analytics.incremental.Figures: a tick serializes only the pipelines it
    recomputed)."""
    as_of_json = _DATETIME.dump_json(as_of).decode()
    return f'{{"type":"metrics_update","as_of":{as_of_json},"payload":{payload_json}}}'


def runs_update(runs: list[RunOut], as_of: datetime) -> str:
    return RunsUpdate(as_of=as_of, payload=runs).model_dump_json()


def runs_deleted(ids: list[int], as_of: datetime) -> str:
    return RunsDeleted(as_of=as_of, payload=ids).model_dump_json()


def heartbeat(as_of: datetime) -> str:
    return Heartbeat(as_of=as_of).model_dump_json()
