"""POST /api/webhooks/github and GET /api/webhooks/github/deliveries."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

import analytics
from analytics.models import DeliveryOut, RunOut
from ingest_api import telemetry
from ingest_api.db import SessionDep
from ingest_api.errors import (
    RATE_LIMITED,
    Forbidden,
    Unauthorized,
    ValidationFailed,
    documented,
)
from ingest_api.github import service
from ingest_api.github.schemas import WorkflowJobDelivery, WorkflowRunDelivery
from ingest_api.middleware import MAX_BODY_BYTES

router = APIRouter(prefix="/api/webhooks/github", tags=["github"])

_MAPPING = """
Connect a repository or a whole organisation: Settings → Webhooks → payload URL
`<PULSE_PUBLIC_URL>/api/webhooks/github`, content type `application/json`, the secret of
`PULSE_GITHUB_WEBHOOK_SECRET`, events **Workflow runs** and **Workflow jobs**. The ingest token
is not used: each delivery is checked by its `X-Hub-Signature-256` (HMAC-SHA256 of the body;
several comma-separated secrets are accepted, for rotation).

- `workflow_run` → a run: source `github`, external_id `<run id>-<run_attempt>` (each attempt
  is its own run; a missing run_attempt is 1), pipeline `PULSE_GITHUB_PIPELINE` (default
  `{owner}/{repo}/{workflow}`; a workflow without a name is named by its file), branch
  `head_branch`, commit `head_sha`, triggered_by `triggering_actor.login` (else
  `actor.login`), url `html_url`, started_at `run_started_at` (else `created_at`), and when
  completed finished_at `updated_at` (never before the start). Status from the run's `status`
  and `conclusion`, not the delivery's action: requested, queued, waiting, pending,
  in_progress → running; success, neutral → success; failure, timed_out, startup_failure →
  failure; cancelled, stale → cancelled; skipped, action_required → skipped; another
  conclusion → failure. A late event never reopens a finished run.
- `workflow_job` → the run's jobs (`GET /api/runs/{id}/jobs`), linked by run id and attempt;
  a job may arrive before its run.
- `ping` → recorded; any other event → 202, ignored, nothing written.

A repeated `X-GitHub-Delivery` answers 200 (`duplicate`) and writes nothing; a refused
delivery (401, 422) is not recorded, so GitHub's redelivery of it goes through.
"""


class WebhookOut(BaseModel):
    delivery: str = Field(description="X-GitHub-Delivery.")
    event: str = Field(description="X-GitHub-Event.")
    outcome: Literal["stored", "duplicate", "pong", "ignored"]
    run: RunOut | None = Field(default=None, description="The run a workflow_run delivery set.")
    job_id: int | None = Field(default=None, description="The job a workflow_job delivery set.")


def _object(body: bytes) -> dict[str, Any]:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("body", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "a delivery is a JSON object")
    return data


def _payload(event: str, data: dict[str, Any]) -> WorkflowRunDelivery | WorkflowJobDelivery | None:
    model: type[WorkflowRunDelivery | WorkflowJobDelivery]
    if event == "workflow_run":
        model = WorkflowRunDelivery
    elif event == "workflow_job":
        model = WorkflowJobDelivery
    else:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                {"field": ".".join(str(p) for p in error["loc"]) or "body", "message": error["msg"]}
                for error in exc.errors()
            ]
        ) from None


@router.post(
    "",
    response_model=WebhookOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses={
        202: {"description": "An event other than workflow_run, workflow_job and ping: ignored."},
        **documented(
            {
                401: "Missing or wrong X-Hub-Signature-256.",
                403: "No secret configured: set PULSE_GITHUB_WEBHOOK_SECRET.",
                413: f"Body over {MAX_BODY_BYTES // 1024 // 1024} MiB.",
                422: "Malformed JSON, a missing X-GitHub-Delivery, or a payload without the "
                "fields needed; nothing was written.",
                429: RATE_LIMITED,
            }
        ),
    },
    summary="Receive a GitHub webhook delivery",
    description=_MAPPING,
)
async def github_webhook(request: Request) -> WebhookOut | JSONResponse:
    settings = request.app.state.settings
    secrets = settings.github_webhook_secrets
    if not secrets:
        raise Forbidden(
            "GitHub webhooks are off: set PULSE_GITHUB_WEBHOOK_SECRET to the webhook's secret"
        )
    body = await request.body()
    if not service.signature_matches(body, request.headers.get("x-hub-signature-256"), secrets):
        raise Unauthorized(
            "the X-Hub-Signature-256 header is missing or does not match the body signed with "
            "PULSE_GITHUB_WEBHOOK_SECRET"
        )
    event = request.headers.get("x-github-event", "")
    delivery_id = request.headers.get("x-github-delivery", "")
    # Every delivery is the JSON object the document states, an ignored event's too (the fuzzer
    # found other events' non-object bodies answered 202).
    data = _object(body)
    if event not in service.EVENTS:
        telemetry.webhook_deliveries.labels("other", "ignored").inc()
        ignored = WebhookOut(delivery=delivery_id[:64], event=event[:64], outcome="ignored")
        return JSONResponse(ignored.model_dump(mode="json"), status_code=202)
    if not 1 <= len(delivery_id) <= 64:
        raise ValidationFailed.field("X-GitHub-Delivery", "the delivery id header is missing")
    payload = _payload(event, data)
    action = payload.action if payload is not None else None
    stored = await service.store(
        request.app.state.write_pool,
        delivery_id=delivery_id,
        event=event,
        payload=payload,
        action=action[:64] if action else None,
        pipeline_template=settings.github_pipeline,
    )
    telemetry.webhook_deliveries.labels(event, stored.outcome).inc()
    return WebhookOut(
        delivery=delivery_id,
        event=event,
        outcome=stored.outcome,
        run=stored.run,
        job_id=stored.job_id,
    )


@router.get("/deliveries", responses=documented({422: "Invalid parameter."}))
def list_deliveries(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[DeliveryOut]:
    """The latest deliveries GitHub sent, newest first: what arrived and what became of it.
    Refused deliveries (401, 422) are not listed: GitHub's own delivery log shows those."""
    return analytics.deliveries(session, limit=limit)
