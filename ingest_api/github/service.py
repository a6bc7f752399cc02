"""GitHub deliveries into runs and jobs: the signature, redelivery, and the mapping.

A delivery is one transaction: its id goes into github_deliveries first (a repeated id finds
it there and writes nothing more), then the run through ingest_run, or the job. A delivery
refused (bad signature, 422) never reaches the table, so GitHub's redelivery of it, once fixed,
goes through.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from psycopg import AsyncCursor
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from analytics.models import RunOut, RunStatus
from ingest_api.github.schemas import WorkflowJobDelivery, WorkflowRunDelivery
from ingest_api.runs.schemas import RunEvent
from ingest_api.runs.service import INGEST_SQL, in_transaction

log = logging.getLogger("pulse.github")

SOURCE = "github"
EVENTS = frozenset({"workflow_run", "workflow_job", "ping"})
# A completed run's conclusion as our status (GitHub treats the set as open).
CONCLUSIONS = {
    "success": RunStatus.success,
    "neutral": RunStatus.success,
    "failure": RunStatus.failure,
    "timed_out": RunStatus.failure,
    "startup_failure": RunStatus.failure,
    "cancelled": RunStatus.cancelled,
    "stale": RunStatus.cancelled,
    "skipped": RunStatus.skipped,
    "action_required": RunStatus.skipped,
}
_unknown_conclusions: set[str] = set()

Outcome = Literal["stored", "duplicate", "pong"]


def signature_matches(body: bytes, header: str | None, secrets: list[str]) -> bool:
    """X-Hub-Signature-256 is `sha256=` and the hex HMAC-SHA256 of the raw body, keyed by the
    webhook's secret; any configured secret may match (rotation). Compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").encode("utf-8", "replace")
    return any(
        hmac.compare_digest(
            hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode(), given
        )
        for secret in secrets
    )


def run_status(status: str | None, conclusion: str | None) -> RunStatus:
    """From the run's status and conclusion, never the delivery's action: a `requested`
    delivery can carry a completed, action_required run."""
    if status != "completed":
        return RunStatus.running
    mapped = CONCLUSIONS.get(conclusion or "")
    if mapped is None:
        if conclusion not in _unknown_conclusions:
            _unknown_conclusions.add(str(conclusion))
            log.warning("unknown workflow run conclusion %r: counted as a failure", conclusion)
        return RunStatus.failure
    return mapped


def pipeline_name(delivery: WorkflowRunDelivery, template: str) -> str:
    owner, _, repo = delivery.repository.full_name.partition("/")
    run = delivery.workflow_run
    workflow_file = PurePosixPath(run.path or "").name
    name = template.format(
        owner=owner,
        repo=repo,
        workflow=(run.name or "").strip() or workflow_file or str(run.id),
        workflow_file=workflow_file,
    )
    return name[:200]


def workflow_url(delivery: WorkflowRunDelivery) -> str | None:
    """The workflow's page, where GitHub lists its runs."""
    path = delivery.workflow_run.path
    base = delivery.repository.html_url
    if not path or not base:
        return None
    return f"{base.rstrip('/')}/actions/workflows/{PurePosixPath(path).name}"


def run_event(delivery: WorkflowRunDelivery, template: str) -> RunEvent:
    """The run a workflow_run delivery describes (the README's mapping table)."""
    run = delivery.workflow_run
    attempt = run.run_attempt or 1
    status = run_status(run.status, run.conclusion)
    started_at = run.run_started_at or run.created_at
    finished_at: datetime | None = None
    if status is not RunStatus.running and run.updated_at is not None:
        # GitHub's own examples have updated_at < run_started_at: then the run took 0 s.
        finished_at = max(run.updated_at, started_at)
    actor = run.triggering_actor or run.actor
    return RunEvent.model_validate(
        {
            "pipeline": pipeline_name(delivery, template),
            "status": status,
            "started_at": started_at,
            "finished_at": finished_at,
            "branch": run.head_branch or "",
            "commit": run.head_sha or "",
            "triggered_by": actor.login if actor and actor.login else "",
            "source": SOURCE,
            "external_id": f"{run.id}-{attempt}",
            "url": run.html_url,
            "attempt": attempt,
            "conclusion": run.conclusion,
        }
    )


_RECORD_DELIVERY = """
    insert into github_deliveries (id, event, action, outcome)
    values (%(id)s, %(event)s, %(action)s, %(outcome)s)
    on conflict (id) do nothing
    returning id
"""
_NOTE_RUN = "update github_deliveries set run_id = %(run_id)s where id = %(id)s"
_PIPELINE_URL = """
    update pipelines set url = %(url)s
    where name = %(pipeline)s and url is distinct from %(url)s
"""
# A job's events may arrive in any order: one of a later stage (queued or waiting, then
# in_progress, then completed) replaces an earlier one's, never the reverse, and fields the
# later one lacks keep their values.
_UPSERT_JOB = """
    insert into github_jobs as jobs (
        id, run_id, run_attempt, name, status, conclusion, created_at, started_at,
        completed_at, runner_name, runner_group, runner_labels, steps, url
    )
    values (
        %(id)s, %(run_id)s, %(run_attempt)s, %(name)s, %(status)s, %(conclusion)s,
        %(created_at)s, %(started_at)s, %(completed_at)s, %(runner_name)s, %(runner_group)s,
        %(runner_labels)s, %(steps)s, %(url)s
    )
    on conflict (id) do update set
        run_id = excluded.run_id,
        run_attempt = excluded.run_attempt,
        name = excluded.name,
        status = excluded.status,
        conclusion = coalesce(excluded.conclusion, jobs.conclusion),
        created_at = coalesce(excluded.created_at, jobs.created_at),
        started_at = coalesce(excluded.started_at, jobs.started_at),
        completed_at = coalesce(excluded.completed_at, jobs.completed_at),
        runner_name = coalesce(excluded.runner_name, jobs.runner_name),
        runner_group = coalesce(excluded.runner_group, jobs.runner_group),
        runner_labels = case when cardinality(excluded.runner_labels) > 0
            then excluded.runner_labels else jobs.runner_labels end,
        steps = case when jsonb_array_length(excluded.steps) > 0
            then excluded.steps else jobs.steps end,
        url = coalesce(excluded.url, jobs.url),
        updated_at = now()
    where (case excluded.status when 'completed' then 3 when 'in_progress' then 2 else 1 end)
        >= (case jobs.status when 'completed' then 3 when 'in_progress' then 2 else 1 end)
"""


@dataclass(frozen=True)
class Stored:
    outcome: Outcome
    run: RunOut | None = None
    job_id: int | None = None


def _job_params(delivery: WorkflowJobDelivery) -> dict[str, Any]:
    job = delivery.workflow_job
    return {
        "id": job.id,
        "run_id": job.run_id,
        "run_attempt": job.run_attempt or 1,
        "name": job.name,
        # The action names the stage when an older delivery's status lags it (`started`
        # was the in_progress action's name before it was released).
        "status": job.status or "queued",
        "conclusion": job.conclusion,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "runner_name": job.runner_name or None,
        "runner_group": job.runner_group_name or None,
        "runner_labels": list(job.labels),
        "steps": Jsonb([step.model_dump(mode="json") for step in job.steps]),
        "url": job.html_url,
    }


async def store(
    pool: AsyncConnectionPool,
    *,
    delivery_id: str,
    event: str,
    payload: WorkflowRunDelivery | WorkflowJobDelivery | None,
    action: str | None,
    pipeline_template: str,
) -> Stored:
    """Record the delivery and what it carries, in one transaction."""
    run_params: dict[str, Any] | None = None
    url = None
    if isinstance(payload, WorkflowRunDelivery):
        run = run_event(payload, pipeline_template)
        run_params, url = run.model_dump(), workflow_url(payload)

    async def record(cursor: AsyncCursor[dict[str, Any]]) -> Stored:
        await cursor.execute(
            _RECORD_DELIVERY,
            {
                "id": delivery_id,
                "event": event,
                "action": action,
                "outcome": "pong" if event == "ping" else "stored",
            },
        )
        if await cursor.fetchone() is None:
            return Stored("duplicate")
        if run_params is not None:
            await cursor.execute(INGEST_SQL, run_params)
            row = await cursor.fetchone()
            assert row is not None
            stored = RunOut.model_validate({**row, "pipeline": run_params["pipeline"]})
            await cursor.execute(_NOTE_RUN, {"run_id": stored.id, "id": delivery_id})
            if url is not None:
                await cursor.execute(
                    _PIPELINE_URL, {"url": url, "pipeline": run_params["pipeline"]}
                )
            return Stored("stored", run=stored)
        if isinstance(payload, WorkflowJobDelivery):
            await cursor.execute(_UPSERT_JOB, _job_params(payload))
            return Stored("stored", job_id=payload.workflow_job.id)
        return Stored("pong")

    return await in_transaction(pool, record)
