"""The alerts the database recorded and what delivery made of them (GET /api/alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.runs import InvalidCursor, decode_token, encode_token

AlertKind = Literal["failing", "reminder", "recovered", "failure"]
AlertState = Literal["pending", "sent", "failed", "skipped"]

_CURSOR_PREFIX = "alert|"


class AlertOut(BaseModel):
    """An alert: what happened to a branch, and whether its mail went out."""

    id: int
    kind: AlertKind = Field(
        description="failing (a branch started failing), reminder (still failing), recovered, "
        "or failure (each failure, with PULSE_ALERT_POLICY=every)."
    )
    pipeline: str
    branch: str
    run_id: int | None = Field(description="The run that raised it; null once that run is removed.")
    created_at: datetime
    state: AlertState = Field(
        description="pending (to send, or to retry), sent, failed (gave up after 24 h of "
        "errors), skipped (recorded more than 1 h before mail could be delivered)."
    )
    attempts: int
    last_error: str | None = Field(
        description="The last attempt's error as the SMTP server or network gave it (credentials "
        "removed); null once sent."
    )
    sent_at: datetime | None


@dataclass(frozen=True)
class AlertCursor:
    alert_id: int

    def encode(self) -> str:
        return encode_token(f"{_CURSOR_PREFIX}{self.alert_id}")

    @classmethod
    def decode(cls, value: str) -> AlertCursor:
        raw = decode_token(value)
        try:
            if not raw.startswith(_CURSOR_PREFIX):
                raise ValueError("not an alert cursor")
            return cls(int(raw.removeprefix(_CURSOR_PREFIX)))
        except ValueError as exc:
            raise InvalidCursor(value) from exc


# Newest first by id (ids follow creation): the primary key, or ix_alerts_pipeline_id_id for
# one pipeline.
_ALERTS = text(
    """
    select
        alerts.id, alerts.kind, pipelines.name as pipeline, alerts.branch, alerts.run_id,
        alerts.created_at, alerts.state, alerts.attempts, alerts.last_error, alerts.sent_at
    from alerts
    join pipelines on pipelines.id = alerts.pipeline_id
    where (
            cast(:pipeline as text) is null
            or alerts.pipeline_id = (select id from pipelines where name = :pipeline)
        )
        and (cast(:before_id as bigint) is null or alerts.id < :before_id)
    order by alerts.id desc
    limit :limit
    """
)


def alerts(
    session: Session,
    *,
    limit: int = 50,
    pipeline: str | None = None,
    before: AlertCursor | None = None,
) -> tuple[list[AlertOut], AlertCursor | None]:
    """Alerts newest first, and the cursor of the next page if any."""
    params = {
        "limit": limit + 1,
        "pipeline": pipeline,
        "before_id": None if before is None else before.alert_id,
    }
    rows = list(session.execute(_ALERTS, params).mappings())
    page = [AlertOut.model_validate(dict(row)) for row in rows[:limit]]
    cursor = AlertCursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return page, cursor
