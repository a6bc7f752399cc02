"""POST /api/webhooks/github over real HTTP: signatures, redelivery, the mapping to runs and
jobs, every order of events, GitHub's own deliveries, and a burst."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ingest_api.github import service
from tests.api.support import Api, ApiFactory

SECRET = "webhook-secret-for-tests"
OLD_SECRET = "the-secret-before-rotation"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github-webhooks"
TABLES = ("runs", "github_deliveries", "github_jobs", "pipelines")


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    api: Api,
    event: str,
    payload: Any,
    *,
    delivery: str | None = None,
    secret: str | None = SECRET,
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return api.client.post("/api/webhooks/github", content=body, headers=headers)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select * from {table} order by 1").fetchall() for table in TABLES
        }


REPOSITORY = {"full_name": "acme/web", "html_url": "https://github.com/acme/web"}


def workflow_run(
    *,
    action: str = "completed",
    status: str = "completed",
    conclusion: str | None = "success",
    run_id: int = 7001,
    attempt: int | None = 1,
    started: str = "2026-11-30T10:00:00Z",
    updated: str = "2026-11-30T10:05:00Z",
    name: str = "CI",
    path: str = ".github/workflows/ci.yml",
    **extra: Any,
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": run_id,
        "name": name,
        "path": path,
        "status": status,
        "conclusion": conclusion,
        "head_branch": "main",
        "head_sha": "5184f9c0d2b1a6e8f7c3b9a4d5e6f7a8b9c0d1e2",
        "html_url": f"https://github.com/acme/web/actions/runs/{run_id}",
        "created_at": started,
        "run_started_at": started,
        "updated_at": updated,
        "actor": {"login": "octocat"},
        "triggering_actor": {"login": "hubot"},
        **extra,
    }
    if attempt is not None:
        run["run_attempt"] = attempt
    return {"action": action, "workflow_run": run, "repository": REPOSITORY}


def workflow_job(
    *, stage: str, job_id: int = 9001, run_id: int = 7001, attempt: int = 1
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "id": job_id,
        "run_id": run_id,
        "run_attempt": attempt,
        "name": "test",
        "status": stage,
        "conclusion": "failure" if stage == "completed" else None,
        "created_at": "2026-11-30T10:00:05Z",
        "started_at": "2026-11-30T10:00:50Z" if stage != "queued" else None,
        "completed_at": "2026-11-30T10:04:50Z" if stage == "completed" else None,
        "runner_name": "win-runner-3" if stage != "queued" else None,
        "runner_group_name": "self-hosted" if stage != "queued" else None,
        "labels": ["self-hosted", "windows"],
        "steps": [],
        "html_url": f"https://github.com/acme/web/actions/runs/{run_id}/job/{job_id}",
    }
    if stage == "completed":
        job["steps"] = [
            {
                "name": "Build",
                "number": 1,
                "status": "completed",
                "conclusion": "success",
                "started_at": "2026-11-30T10:00:51Z",
                "completed_at": "2026-11-30T10:03:51Z",
            },
            {
                "name": "Test",
                "number": 2,
                "status": "completed",
                "conclusion": "failure",
                "started_at": "2026-11-30T10:03:51Z",
                "completed_at": "2026-11-30T10:04:49Z",
            },
        ]
    return {"action": stage, "workflow_job": job, "repository": REPOSITORY}


@pytest.fixture
def hook(api_factory: ApiFactory) -> Iterator[Api]:
    with api_factory(PULSE_GITHUB_WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}") as running:
        yield running


def runs_of(api: Api) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.client.get("/api/runs?limit=500").json()
    return listed


class TestSignature:
    def test_githubs_own_test_vector(self) -> None:
        header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        assert service.signature_matches(b"Hello, World!", header, ["It's a Secret to Everybody"])
        assert not service.signature_matches(b"Hello, World!", header, ["another secret"])

    @pytest.mark.parametrize("case", ["missing", "wrong secret", "tampered", "not sha256"])
    def test_refused_with_nothing_written(self, hook: Api, case: str) -> None:
        before = snapshot(hook.db_url)
        body = json.dumps(workflow_run()).encode()
        headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "d-1"}
        if case == "wrong secret":
            headers["X-Hub-Signature-256"] = sign(body, "guess")
        elif case == "tampered":
            headers["X-Hub-Signature-256"] = sign(body)
            body = body.replace(b"success", b"failure")
        elif case == "not sha256":
            headers["X-Hub-Signature-256"] = (
                "sha1=" + hmac.new(SECRET.encode(), body, "sha1").hexdigest()
            )
        response = hook.client.post("/api/webhooks/github", content=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert SECRET not in response.text
        assert snapshot(hook.db_url) == before

    def test_a_rotated_secret_still_works(self, hook: Api) -> None:
        response = deliver(hook, "workflow_run", workflow_run(), secret=OLD_SECRET)
        assert response.status_code == 200
        assert response.json()["outcome"] == "stored"

    def test_no_secret_configured_is_403_naming_the_setting(self, api: Api) -> None:
        before = snapshot(api.db_url)
        response = deliver(api, "workflow_run", workflow_run())
        assert response.status_code == 403
        assert "PULSE_GITHUB_WEBHOOK_SECRET" in response.json()["detail"]
        assert snapshot(api.db_url) == before


class TestDeliveries:
    def test_other_events_are_ignored(self, hook: Api) -> None:
        before = snapshot(hook.db_url)
        response = deliver(hook, "push", {"ref": "refs/heads/main"})
        assert response.status_code == 202
        assert response.json()["outcome"] == "ignored"
        assert snapshot(hook.db_url) == before

    def test_ping_is_recorded(self, hook: Api) -> None:
        response = deliver(hook, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
        assert (response.status_code, response.json()["outcome"]) == (200, "pong")
        listed = hook.client.get("/api/webhooks/github/deliveries").json()
        assert [(d["event"], d["outcome"]) for d in listed] == [("ping", "pong")]

    def test_a_redelivery_writes_nothing_whatever_its_body(self, hook: Api) -> None:
        first = deliver(hook, "workflow_run", workflow_run(), delivery="same-id")
        assert first.json()["outcome"] == "stored"
        before = snapshot(hook.db_url)
        again = deliver(
            hook, "workflow_run", workflow_run(conclusion="failure"), delivery="same-id"
        )
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
        assert snapshot(hook.db_url) == before

    def test_a_refused_delivery_is_not_seen_so_its_fixed_redelivery_goes_through(
        self, hook: Api
    ) -> None:
        before = snapshot(hook.db_url)
        broken = deliver(hook, "workflow_run", {"workflow_run": {"id": 5}}, delivery="fixed-later")
        assert broken.status_code == 422
        fields = {item["field"] for item in broken.json()["detail"]}
        assert {"repository", "workflow_run.created_at"} <= fields
        malformed = deliver(hook, "workflow_run", None, raw=b"{oops", delivery="fixed-later")
        assert malformed.status_code == 422
        assert snapshot(hook.db_url) == before
        fixed = deliver(hook, "workflow_run", workflow_run(), delivery="fixed-later")
        assert fixed.json()["outcome"] == "stored"

    def test_the_list_is_newest_first_and_limited(self, hook: Api) -> None:
        for i in range(3):
            deliver(hook, "workflow_run", workflow_run(run_id=100 + i), delivery=f"d-{i}")
        listed = hook.client.get("/api/webhooks/github/deliveries?limit=2").json()
        assert [d["id"] for d in listed] == ["d-2", "d-1"]
        assert all(d["outcome"] == "stored" and d["run_id"] for d in listed)


class TestWorkflowRunMapping:
    def test_a_completed_run_is_one_run(self, hook: Api) -> None:
        response = deliver(hook, "workflow_run", workflow_run())
        run = response.json()["run"]
        assert {k: run[k] for k in run if k != "id"} == {
            "pipeline": "acme/web/CI",
            "status": "success",
            "started_at": "2026-11-30T10:00:00Z",
            "finished_at": "2026-11-30T10:05:00Z",
            "duration_sec": 300.0,
            "branch": "main",
            "commit": "5184f9c0d2b1a6e8f7c3b9a4d5e6f7a8b9c0d1e2",
            "triggered_by": "hubot",
            "external_id": "7001-1",
            "source": "github",
            "url": "https://github.com/acme/web/actions/runs/7001",
            "attempt": 1,
            "conclusion": "success",
        }
        pipeline = hook.client.get("/api/pipelines").json()[0]
        assert pipeline["url"] == "https://github.com/acme/web/actions/workflows/ci.yml"

    @pytest.mark.parametrize(
        ("conclusion", "status"),
        [
            ("success", "success"),
            ("neutral", "success"),
            ("failure", "failure"),
            ("timed_out", "failure"),
            ("startup_failure", "failure"),
            ("cancelled", "cancelled"),
            ("stale", "cancelled"),
            ("skipped", "skipped"),
            ("action_required", "skipped"),
            ("something_new", "failure"),
        ],
    )
    def test_conclusions(self, hook: Api, conclusion: str, status: str) -> None:
        run = deliver(hook, "workflow_run", workflow_run(conclusion=conclusion)).json()["run"]
        assert (run["status"], run["conclusion"]) == (status, conclusion)

    @pytest.mark.parametrize("status", ["requested", "queued", "waiting", "pending", "in_progress"])
    def test_statuses_before_completion_are_running(self, hook: Api, status: str) -> None:
        payload = workflow_run(action="requested", status=status, conclusion=None)
        run = deliver(hook, "workflow_run", payload).json()["run"]
        assert (run["status"], run["finished_at"]) == ("running", None)

    def test_the_state_comes_from_the_run_not_the_action(self, hook: Api) -> None:
        payload = workflow_run(action="requested", conclusion="action_required")
        assert deliver(hook, "workflow_run", payload).json()["run"]["status"] == "skipped"

    def test_updated_before_started_took_no_time(self, hook: Api) -> None:
        payload = workflow_run(updated="2026-11-30T09:59:35Z")
        run = deliver(hook, "workflow_run", payload).json()["run"]
        assert (run["duration_sec"], run["finished_at"]) == (0.0, run["started_at"])

    def test_an_unnamed_workflow_is_named_by_its_file_and_a_template_applies(
        self, api_factory: ApiFactory
    ) -> None:
        with api_factory(
            PULSE_GITHUB_WEBHOOK_SECRET=SECRET, PULSE_GITHUB_PIPELINE="{repo}:{workflow_file}"
        ) as hook:
            run = deliver(hook, "workflow_run", workflow_run(name="")).json()["run"]
        assert run["pipeline"] == "web:ci.yml"

    def test_an_old_delivery_without_attempt_start_or_actor(self, hook: Api) -> None:
        payload = workflow_run(attempt=None)
        for key in ("run_started_at", "actor", "triggering_actor"):
            del payload["workflow_run"][key]
        payload["enterprise"] = {"id": 1, "slug": "acme"}  # Enterprise adds keys
        run = deliver(hook, "workflow_run", payload).json()["run"]
        assert (run["external_id"], run["attempt"], run["triggered_by"]) == ("7001-1", 1, "")
        assert run["started_at"] == "2026-11-30T10:00:00Z"

    def test_a_rerun_is_a_second_run(self, hook: Api) -> None:
        deliver(hook, "workflow_run", workflow_run(conclusion="failure"))
        rerun = workflow_run(
            attempt=2, started="2026-11-30T11:00:00Z", updated="2026-11-30T11:04:00Z"
        )
        second = deliver(hook, "workflow_run", rerun).json()["run"]
        assert (second["external_id"], second["attempt"], second["status"]) == (
            "7001-2",
            2,
            "success",
        )
        assert [(r["attempt"], r["status"]) for r in runs_of(hook)] == [
            (2, "success"),
            (1, "failure"),
        ]


STAGES = {
    "requested": workflow_run(
        action="requested", status="queued", conclusion=None, updated="2026-11-30T10:00:00Z"
    ),
    "in_progress": workflow_run(
        action="in_progress", status="in_progress", conclusion=None, updated="2026-11-30T10:00:30Z"
    ),
    "completed": workflow_run(conclusion="failure"),
}
JOB_STAGES = {stage: workflow_job(stage=stage) for stage in ("queued", "in_progress", "completed")}


def _final_state(api: Api) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    runs = runs_of(api)
    assert len(runs) == 1
    jobs = api.client.get(f"/api/runs/{runs[0]['id']}/jobs").json()
    return [{k: v for k, v in r.items() if k != "id"} for r in runs], jobs


class TestOrder:
    def test_every_order_of_run_events_ends_in_the_same_state(self, hook: Api) -> None:
        finals = []
        for order in itertools.permutations(STAGES):
            with psycopg.connect(hook.db_url, autocommit=True) as conn:
                conn.execute("truncate runs, pipelines, github_deliveries cascade")
            for stage in order:
                assert deliver(hook, "workflow_run", STAGES[stage]).status_code == 200
            finals.append(_final_state(hook)[0])
        assert all(final == finals[0] for final in finals)
        assert finals[0][0]["status"] == "failure"
        assert finals[0][0]["duration_sec"] == 300.0

    def test_every_order_of_jobs_and_run_ends_in_the_same_state(self, hook: Api) -> None:
        events = [("workflow_run", STAGES["completed"])] + [
            ("workflow_job", payload) for payload in JOB_STAGES.values()
        ]
        finals = []
        for order in itertools.permutations(events):
            with psycopg.connect(hook.db_url, autocommit=True) as conn:
                conn.execute("truncate runs, pipelines, github_deliveries, github_jobs cascade")
            for event, payload in order:
                assert deliver(hook, event, payload).status_code == 200
            finals.append(_final_state(hook))
        assert all(final == finals[0] for final in finals)
        (job,) = finals[0][1]
        assert (job["status"], job["conclusion"], job["runner_name"]) == (
            "completed",
            "failure",
            "win-runner-3",
        )
        assert (job["queue_sec"], job["duration_sec"]) == (45.0, 240.0)
        assert job["runner_labels"] == ["self-hosted", "windows"]
        assert [(s["name"], s["duration_sec"]) for s in job["steps"]] == [
            ("Build", 180.0),
            ("Test", 58.0),
        ]


class TestJobs:
    def test_a_run_without_jobs_and_an_absent_run(self, hook: Api) -> None:
        run = deliver(hook, "workflow_run", workflow_run()).json()["run"]
        assert hook.client.get(f"/api/runs/{run['id']}/jobs").json() == []
        missing = hook.client.get("/api/runs/999999/jobs")
        assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")

    def test_a_skipped_job_has_no_runner(self, hook: Api) -> None:
        run = deliver(hook, "workflow_run", workflow_run()).json()["run"]
        payload = workflow_job(stage="completed")
        job = payload["workflow_job"]
        job.update(conclusion="skipped", started_at=None, runner_name=None, steps=[], labels=[])
        del job["runner_group_name"]
        assert deliver(hook, "workflow_job", payload).status_code == 200
        (stored,) = hook.client.get(f"/api/runs/{run['id']}/jobs").json()
        assert (stored["conclusion"], stored["runner_name"], stored["queue_sec"]) == (
            "skipped",
            None,
            None,
        )


@pytest.mark.skipif(
    not SHARED.is_dir(), reason="the shared GitHub fixtures are not beside the checkout"
)
class TestGithubsOwnDeliveries:
    def test_every_fixture_is_accepted_and_stored(self, hook: Api) -> None:
        files = sorted(SHARED.glob("*.json"))
        assert len(files) >= 10
        for path in files:
            event = path.name.split(".")[0]
            response = deliver(hook, event, None, raw=path.read_bytes())
            assert response.status_code == 200, (path.name, response.text)
        with psycopg.connect(hook.db_url) as conn:
            deliveries = conn.execute("select count(*) from github_deliveries").fetchone()
            jobs = conn.execute(
                "select count(*), count(*) filter (where status = 'completed') from github_jobs"
            ).fetchone()
        assert deliveries == (len(files),)
        assert jobs is not None
        assert jobs[0] >= 1
        assert jobs[1] >= 1
        runs = runs_of(hook)
        assert {r["source"] for r in runs} == {"github"}
        assert {r["status"] for r in runs} <= {"running", "success", "skipped"}
        assert any(r["pipeline"] == "octo-org/octo-repo/test.yml" for r in runs)


class TestBurst:
    def test_500_deliveries_from_16_clients_are_stored_once(self, hook: Api) -> None:
        bodies = []
        for i in range(250):
            bodies.append(("workflow_run", workflow_run(run_id=50_000 + i, conclusion="success")))
            bodies.append(
                (
                    "workflow_job",
                    workflow_job(stage="completed", job_id=80_000 + i, run_id=50_000 + i),
                )
            )
        latencies: list[float] = []

        def send(item: tuple[int, tuple[str, dict[str, Any]]]) -> int:
            index, (event, payload) = item
            body = json.dumps(payload).encode()
            headers = {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": f"burst-{index}",
                "X-Hub-Signature-256": sign(body),
                "Content-Type": "application/json",
            }
            with httpx.Client(base_url=hook.url, timeout=60) as client:
                started = time.perf_counter()
                status = client.post(
                    "/api/webhooks/github", content=body, headers=headers
                ).status_code
                latencies.append(time.perf_counter() - started)
            return status

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(send, enumerate(bodies)))
        assert statuses == [200] * 500
        with psycopg.connect(hook.db_url) as conn:
            counts = conn.execute(
                "select (select count(*) from github_deliveries), (select count(*) from runs),"
                " (select count(*) from github_jobs)"
            ).fetchone()
        assert counts == (500, 250, 250)
        p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
        p50 = statistics.median(latencies) * 1000
        print(
            f"\n500 deliveries, 16 clients: p50 {p50:.1f} ms, p95 {p95:.1f} ms,"
            f" max {max(latencies) * 1000:.1f} ms"
        )
