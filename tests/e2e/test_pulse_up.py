"""The newcomer path, end to end: `pulse up` on the embedded server, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from ingest_api.processes import answers, free_port, serving
from ingest_api.ui import DIST as UI_DIST
from tests.api.support import SEED_EXAMPLE
from tests.e2e.processes import (
    ROOT,
    descendants,
    pulse,
    pulse_command,
    pulse_env,
    pulse_up,
    stop,
    wait_gone,
)
from tests.support import wait_for

pytestmark = pytest.mark.e2e


class TestPulseUp:
    def test_newcomer_path_and_lifecycle(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        log = tmp_path / "pulse-up.log"
        with pulse_up(data, log) as up:
            token = up.printed_token()
            assert token, up.output
            assert up.api_url in up.output
            assert "curl -X POST" in up.output
            assert (data / "ingest-token").stat().st_mode & 0o077 == 0

            # The seed's example POST with the printed token, then the summary shows it.
            run = httpx.post(
                f"{up.api_url}/api/events/run",
                json={**SEED_EXAMPLE, "started_at": None, "finished_at": None},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert run.status_code == 200, run.text
            summary = httpx.get(f"{up.api_url}/api/metrics/summary").json()
            assert (summary["total"], summary["success"], summary["avg_duration_sec"]) == (
                1,
                1,
                7.0,
            )
            info = httpx.get(f"{up.api_url}/api/info").json()
            assert (info["database"], info["demo"]) == ("embedded", True)

            # The dashboard, with the API's address in its config.json (`make test` builds it).
            ui_url = f"http://127.0.0.1:{up.env['PULSE_UI_PORT']}"
            if (UI_DIST / "index.html").is_file():
                assert f"Dashboard  {ui_url}" in up.output
                wait_for(lambda: answers(ui_url), timeout=60)
                assert "<title>Pipeline Pulse" in httpx.get(ui_url).text
                config = httpx.get(f"{ui_url}/config.json")
                trends_url = f"http://127.0.0.1:{up.env['PULSE_STREAMLIT_PORT']}"
                assert config.json() == {"apiUrl": up.api_url, "trendsUrl": trends_url}
                assert f"Trends     {trends_url}" in up.output
                assert config.headers["cache-control"] == "no-store"
            else:
                assert "The dashboard is not built" in up.output

            # The CLI joins the running server.
            assert pulse("token", env=up.env).stdout.strip() == token
            url = pulse("db-url", env=up.env).stdout.strip()
            with psycopg.connect(url) as conn:
                assert conn.execute("select count(*) from runs").fetchone() == (1,)
            simulated = pulse("simulate", "--count", "30", "--pipelines", "api", env=up.env)
            assert simulated.returncode == 0, simulated.stderr
            assert httpx.get(f"{up.api_url}/api/metrics/summary?pipeline=api").json()["total"] == 30

            # The worker keeps the daily history for SQL readers.
            def history_total() -> int:
                with psycopg.connect(url) as conn:
                    row = conn.execute("select sum(total) from daily_pipeline_history").fetchone()
                return int(row[0] or 0) if row else 0

            wait_for(lambda: history_total() == 31, timeout=60, interval=0.5)
            assert "Worker     refreshes the daily history" in up.output

            # A rebuild while the system runs changes no figure.
            before = httpx.get(f"{up.api_url}/api/metrics/summary?minutes=2880").json()
            rebuilt = pulse("rebuild-rollups", env=up.env)
            assert rebuilt.returncode == 0, rebuilt.stderr
            assert "Rebuilt the rollups of 2 pipelines" in rebuilt.stdout
            after = httpx.get(f"{up.api_url}/api/metrics/summary?minutes=2880").json()
            assert {**after, "as_of": None} == {**before, "as_of": None}

            # `pulse api` alone attaches to the server `pulse up` runs.
            with pulse_api(up.env) as api_url:
                runs = httpx.get(f"{api_url}/api/runs?limit=100").json()
                assert len(runs) == 31

            tree = descendants(up.process.pid)
            assert stop(up.process) == 0
            wait_gone(tree)
            assert "Stopped." in up.output

        # Restart: data kept, the token is not printed again.
        with pulse_up(data, tmp_path / "again.log") as again:
            assert again.printed_token() is None
            assert httpx.get(f"{again.api_url}/api/metrics/summary").json()["total"] == 31
            assert (
                httpx.post(
                    f"{again.api_url}/api/events/run",
                    json=SEED_EXAMPLE,
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code
                == 200
            )

    def test_sigkill_leaves_nothing_running(self, tmp_path: Path) -> None:
        """No stop runs: PDEATHSIG alone takes every child down, PostgreSQL included."""
        with pulse_up(tmp_path / "data", tmp_path / "up.log") as up:
            tree = descendants(up.process.pid)
            postmaster = json.loads((up.data_dir / "postgres.json").read_text())["pid"]
            assert postmaster in tree
            children = {pulse_command(pid) for pid in tree}
            assert {"api", "worker"} <= children
            if (UI_DIST / "index.html").is_file():
                assert "ui" in children
            up.process.send_signal(signal.SIGKILL)
            up.process.wait(30)
            wait_gone(tree)
        # And the next start cleans up whatever was left and comes up.
        with pulse_up(tmp_path / "data", tmp_path / "up2.log") as again:
            assert httpx.get(f"{again.api_url}/health").json()["ok"] is True

    def test_a_crashed_api_is_restarted(self, tmp_path: Path) -> None:
        with pulse_up(tmp_path / "data", tmp_path / "up.log") as up:
            os.kill(up.child("api"), signal.SIGKILL)
            wait_for(lambda: "restarting" in up.output, timeout=60)
            wait_for(lambda: answers(f"{up.api_url}/health"), timeout=120, interval=0.5)
            assert up.process.poll() is None

    def test_pulse_api_without_a_database_exits_2(self, tmp_path: Path) -> None:
        result = pulse("api", env=pulse_env(tmp_path / "empty"), timeout=60)
        assert result.returncode == 2
        assert "pulse up" in result.stderr
        assert "DATABASE_URL" in result.stderr

    def test_second_pulse_up_on_the_same_data_dir_is_refused(self, tmp_path: Path) -> None:
        with pulse_up(tmp_path / "data", tmp_path / "up.log") as up:
            second = pulse("up", env={**up.env, "PULSE_API_PORT": str(free_port())}, timeout=60)
            assert second.returncode == 2
            assert "already" in second.stderr.lower()
            assert httpx.get(f"{up.api_url}/health").json()["ok"] is True


@contextmanager
def pulse_api(env: dict[str, str]) -> Iterator[str]:
    """`pulse api` alone, one worker on a port of its own; yields its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(
        [sys.executable, "-m", "ingest_api", "api", "--port", str(port), "--workers", "1"],
        ready=lambda: answers(f"{url}/health"),
        timeout=120,
        stop_timeout=60,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ):
        yield url
