"""The report-run action (.github/actions/report-run), run by Node as a runner runs it: the
environment a job step gets (GITHUB_*, INPUT_*, the runner's command files) against the real API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ingest_api.processes import free_port
from tests.api.support import TOKEN, Api

ACTION = Path(__file__).resolve().parents[2] / ".github" / "actions" / "report-run"
SCRIPT = ACTION / "index.mjs"
NODE = shutil.which("node") or "node"

# What the runner sets for a push to main, second attempt of run 9876, job `build`.
JOB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/web",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_RUN_ID": "9876",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_JOB": "build",
    "GITHUB_SHA": "5184f9c0d2b1a6e8f7c3b9a4d5e6f7a8b9c0d1e2",
    "GITHUB_REF_NAME": "main",
    "GITHUB_HEAD_REF": "",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_TRIGGERING_ACTOR": "hubot",
    "GITHUB_SERVER_URL": "https://github.com",
}
PIPELINE = "acme/web/CI"
EXTERNAL_ID = "9876-2-build"
RUN_URL = "https://github.com/acme/web/actions/runs/9876/attempts/2"


@dataclass
class Step:
    returncode: int
    stdout: str
    stderr: str
    env_file: dict[str, str]
    outputs: dict[str, str]

    def annotations(self, kind: str) -> list[str]:
        prefix = f"::{kind}::"
        return [line[len(prefix) :] for line in self.stdout.splitlines() if line.startswith(prefix)]


def read_command_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line)
    return dict(pairs)


@dataclass
class Job:
    """One job on a runner: steps run in turn, and what a step appends to GITHUB_ENV is in the
    environment of the steps after it, as the runner does it."""

    workdir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(JOB_ENV))
    steps: int = 0

    def report(
        self,
        status: str,
        *,
        api_url: str,
        token: str = TOKEN,
        budget_ms: int | None = None,
        inputs: dict[str, str] | None = None,
    ) -> Step:
        self.steps += 1
        files = {
            name: self.workdir / f"{name.lower()}-{self.steps}"
            for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE")
        }
        for path in files.values():
            path.touch()
        step_inputs = {"api-url": api_url, "token": token, "status": status, **(inputs or {})}
        env = {
            "PATH": os.environ["PATH"],
            **self.env,
            **{name: str(path) for name, path in files.items()},
            # As the runner names them: upper case, hyphens kept (INPUT_API-URL).
            **{f"INPUT_{name.upper()}": value for name, value in step_inputs.items()},
        }
        if budget_ms is not None:
            env["PULSE_ACTION_RETRY_BUDGET_MS"] = str(budget_ms)
        done = subprocess.run(
            [NODE, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        step = Step(
            returncode=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
            env_file=read_command_file(files["GITHUB_ENV"]),
            outputs=read_command_file(files["GITHUB_OUTPUT"]),
        )
        self.env.update(step.env_file)
        assert_token_hidden(step, token)
        return step


def assert_token_hidden(step: Step, token: str) -> None:
    """The token is printed once, to mask it, and nowhere else."""
    lines = step.stdout.splitlines()
    assert lines[0] == f"::add-mask::{token}"
    assert token not in "\n".join(lines[1:])
    assert token not in step.stderr


def runs(api: Api, pipeline: str = PIPELINE) -> list[dict[str, Any]]:
    response = api.client.get("/api/runs", params={"pipeline": pipeline, "limit": 100})
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()
    return result


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def job(tmp_path: Path) -> Job:
    return Job(workdir=tmp_path)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


class TestReportRun:
    def test_action_runs_the_script_on_node24(self) -> None:
        text = (ACTION / "action.yml").read_text()
        assert "using: node24" in text
        assert f"main: {SCRIPT.name}" in text

    def test_running_then_success_is_one_run_that_moves(self, api: Api, job: Job) -> None:
        start = job.report("running", api_url=api.url)
        assert start.returncode == 0, start.stdout + start.stderr
        assert start.annotations("warning") == []
        variable = "PULSE_RUN_STARTED_AT_9876_2_BUILD"
        assert list(start.env_file) == [variable]
        recorded = at(start.env_file[variable])

        [running] = runs(api)
        assert running == {
            "id": running["id"],
            "pipeline": PIPELINE,
            "status": "running",
            "started_at": running["started_at"],
            "finished_at": None,
            "duration_sec": None,
            "branch": "main",
            "commit": JOB_ENV["GITHUB_SHA"],
            "triggered_by": "hubot",
            "external_id": EXTERNAL_ID,
            "source": "github-action",
            "url": RUN_URL,
            "attempt": 2,
            "conclusion": None,
        }
        assert at(running["started_at"]) == recorded
        assert start.outputs == {"run-id": str(running["id"])}

        end = job.report("success", api_url=api.url)
        assert end.returncode == 0, end.stdout + end.stderr
        assert end.annotations("warning") == []

        [done] = runs(api)
        assert done["id"] == running["id"]
        assert done["status"] == "success"
        assert at(done["started_at"]) == recorded
        finished = at(done["finished_at"])
        assert finished >= recorded
        assert done["duration_sec"] == pytest.approx(
            (finished - recorded).total_seconds(), abs=0.001
        )
        assert (done["source"], done["url"], done["triggered_by"]) == (
            "github-action",
            RUN_URL,
            "hubot",
        )
        assert end.outputs == {"run-id": str(running["id"])}

    @pytest.mark.parametrize("status", ["failure", "cancelled", "success"])
    def test_job_status_maps_to_the_run_status(self, api: Api, job: Job, status: str) -> None:
        step = job.report(status, api_url=api.url)
        assert step.returncode == 0, step.stdout + step.stderr
        # Without an earlier running step it sends the result alone; the API dates it.
        assert step.env_file == {}
        [run] = runs(api)
        assert (run["status"], run["external_id"], run["source"]) == (
            status,
            EXTERNAL_ID,
            "github-action",
        )
        assert run["duration_sec"] == 0

    def test_unknown_status_warns_and_sends_nothing(self, api: Api, job: Job) -> None:
        step = job.report("neutral", api_url=api.url, inputs={"fail-on-error": "true"})
        assert step.returncode == 0
        [warning] = step.annotations("warning")
        assert '"neutral"' in warning
        assert "nothing was sent" in warning
        assert runs(api) == []

    def test_wrong_token_is_a_warning_that_says_401(self, api: Api, job: Job) -> None:
        step = job.report("success", api_url=api.url, token="not-the-ingest-token-42")
        assert step.returncode == 0
        [warning] = step.annotations("warning")
        assert "Pipeline Pulse answered 401 Unauthorized" in warning
        assert "token does not match" in warning
        assert step.annotations("error") == []
        assert runs(api) == []

    def test_rejected_event_names_the_field(self, api: Api, job: Job) -> None:
        step = job.report("success", api_url=api.url, inputs={"pipeline": "p" * 201})
        assert step.returncode == 0
        [warning] = step.annotations("warning")
        assert "422" in warning
        assert "pipeline" in warning

    def test_unreachable_api_is_a_warning_and_the_job_goes_on(self, job: Job) -> None:
        start = job.report("running", api_url=closed_port_url(), budget_ms=1500)
        assert start.returncode == 0
        [warning] = start.annotations("warning")
        assert "unreachable" in warning
        assert "gave up after 2 attempts" in warning
        assert "retrying in 1 s" in start.stdout
        # The start time is handed on all the same, so a later result still has its duration.
        assert list(start.env_file) == ["PULSE_RUN_STARTED_AT_9876_2_BUILD"]

    def test_fail_on_error_fails_the_step(self, job: Job) -> None:
        step = job.report(
            "failure", api_url=closed_port_url(), budget_ms=200, inputs={"fail-on-error": "true"}
        )
        assert step.returncode != 0
        [error] = step.annotations("error")
        assert "unreachable" in error
        assert step.annotations("warning") == []

    def test_pull_request_reports_the_head_branch_and_commit(
        self, api: Api, job: Job, tmp_path: Path
    ) -> None:
        head_sha = "0123456789abcdef0123456789abcdef01234567"
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"head": {"sha": head_sha}}}))
        job.env.update(
            GITHUB_HEAD_REF="feature/login",
            GITHUB_REF_NAME="42/merge",
            GITHUB_EVENT_PATH=str(event),
            GITHUB_RUN_ATTEMPT="1",
            GITHUB_TRIGGERING_ACTOR="",
        )
        step = job.report("success", api_url=api.url)
        assert step.returncode == 0, step.stdout + step.stderr
        [run] = runs(api)
        assert (run["branch"], run["commit"], run["triggered_by"]) == (
            "feature/login",
            head_sha,
            "octocat",
        )
        assert run["url"] == "https://github.com/acme/web/actions/runs/9876"
        assert run["external_id"] == "9876-1-build"

    def test_inputs_name_the_pipeline_and_the_run(self, api: Api, job: Job) -> None:
        inputs = {"pipeline": "web windows", "external-id": "nightly-7"}
        job.report("running", api_url=f"{api.url}/", inputs=inputs)
        job.report("failure", api_url=f"{api.url}/", inputs=inputs)
        [run] = runs(api, "web windows")
        assert (run["status"], run["external_id"]) == ("failure", "nightly-7")
        assert run["finished_at"] is not None
        assert runs(api) == []
