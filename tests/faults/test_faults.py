"""Faults under load, the fast cases of `python -m bench.faults` (which prints the figures).

Real processes throughout: `pulse up` (or `pulse api` and `pulse worker`), real PostgreSQL
servers, clients posting over HTTP and one on the WebSocket. Bounds are generous: the machine is
shared and noisy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.faults import (
    TOKEN,
    Load,
    db_url_of,
    live_converged,
    make_events,
    pulse_up,
    verify,
)
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.live.hub import FULL_RECOMPUTE_SEC
from ingest_api.processes import answers, free_port, serving
from tests.e2e.processes import ROOT, PulseUp, alive, pulse_env
from tests.support import wait_for

pytestmark = pytest.mark.e2e

EVENTS = 300
CLIENTS = 8


def _no_loss(load: Load, url: str, pulse: PulseUp | None = None) -> None:
    """Every acknowledged run is stored; the rollups and the history equal a recomputation;
    the live summary counts every run (within the hub's whole recomputation period)."""
    load.wait(300)
    verdict = verify(url)
    assert load.tally.given_up == 0
    assert len(load.tally.acked) == len(load.bodies)
    assert load.tally.acked <= verdict.stored
    assert verdict.rollups_exact
    assert verdict.history_diff == []
    if not live_converged(load, verdict.runs, timeout=FULL_RECOMPUTE_SEC + 30):
        summaries = load.tally.live_summaries
        output = pulse.output.splitlines() if pulse is not None else []
        warnings = [line for line in output if "WARNING" in line or "ERROR" in line]
        raise AssertionError(
            f"the live total never came to {verdict.runs}; at {time.monotonic():.1f}, the last "
            f"of {len(summaries)} (monotonic s, total): {summaries[-6:]}; the last warnings: "
            + "\n".join(warnings[-20:])
        )


def _orphans_of(api: int) -> list[int]:
    """Processes that were uvicorn workers of the `pulse api` process `api`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"PULSE_API_PARENT_PID={api}".encode() in environ:
                found.append(int(entry.name))
    return found


class TestKills:
    def test_kill_9_of_the_api_then_of_postgres_loses_nothing_acknowledged(
        self, tmp_path: Path
    ) -> None:
        # Two API workers: uvicorn's multiprocess mode, whose workers outlived a killed parent.
        # The worker refreshes the history throughout (every 0.5 s), concurrently with ingest.
        with pulse_up(tmp_path / "data", tmp_path / "up.log", workers=2) as pulse:
            url = db_url_of(pulse)

            with Load(pulse.api_url, make_events(EVENTS, "api"), CLIENTS) as load:
                wait_for(lambda: len(load.tally.acked) >= EVENTS // 4, timeout=120)
                api = pulse.child("api")
                os.kill(api, signal.SIGKILL)
                _no_loss(load, url, pulse)
            wait_for(lambda: not _orphans_of(api), timeout=60)
            wait_for(lambda: pulse.child("api") != api, timeout=60)
            assert "api exited with -9; restarting" in pulse.output

            with Load(pulse.api_url, make_events(EVENTS, "pg"), CLIENTS) as load:
                wait_for(lambda: len(load.tally.acked) >= EVENTS // 4, timeout=120)
                postmaster = pulse.postmaster()
                os.kill(postmaster, signal.SIGKILL)
                _no_loss(load, url, pulse)
            assert pulse.postmaster() != postmaster
            assert alive(pulse.postmaster())
            assert "PostgreSQL exited with -9; restarting it" in pulse.output
            assert pulse.process.poll() is None


class TestDatabaseStopped:
    def test_requests_fail_fast_and_everything_comes_back(self, tmp_path: Path) -> None:
        server = EmbeddedPostgres(tmp_path / "db", port=free_port())
        with server, _api_and_worker(server.url, tmp_path) as api_url:
            url = server.url
            # Enough that the load is still going when the database stops.
            with Load(api_url, make_events(600, "stop"), CLIENTS) as load:
                wait_for(lambda: len(load.tally.acked) >= 150, timeout=120)
                refreshed = wait_for(lambda: _refreshed_at(url), timeout=60)
                server.stop()

                started = time.monotonic()
                health = httpx.get(f"{api_url}/health", timeout=30)
                assert time.monotonic() - started < 10
                assert health.status_code == 503
                assert (health.json()["error"], health.json()["ok"]) == (
                    "DatabaseUnavailable",
                    False,
                )
                started = time.monotonic()
                ingest = httpx.post(
                    f"{api_url}/api/events/run",
                    content=make_events(1, "probe")[0],
                    headers={
                        "Authorization": f"Bearer {TOKEN}",
                        "Content-Type": "application/json",
                    },
                    timeout=30,
                )
                assert time.monotonic() - started < 10
                assert (ingest.status_code, ingest.json()["error"]) == (503, "DatabaseUnavailable")

                time.sleep(3)
                server.start()
                back = time.monotonic()
                _no_loss(load, url)
                # The clients' failed requests all answered 503 or the like, none slowly.
                assert load.tally.failures
                assert load.tally.max_fail_wait < 10
                # The live listener sent fresh figures, and the worker refreshed, after the return.
                assert any(when > back for when, _ in load.tally.live_summaries)
                wait_for(lambda: _refreshed_since(url, refreshed), timeout=60, interval=0.2)


def _refreshed_since(url: str, before: datetime | None) -> bool:
    now = _refreshed_at(url)
    return now is not None and (before is None or now > before)


def _refreshed_at(url: str) -> datetime | None:
    """When the worker last refreshed the history (None: not yet)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("select refreshed_at from history_state").fetchone()
    assert row is not None
    assert row[0] is None or isinstance(row[0], datetime)
    return row[0]


@contextmanager
def _api_and_worker(url: str, tmp_path: Path) -> Iterator[str]:
    """`pulse api` (one process) and `pulse worker` on the database at `url`, migrated."""
    env = pulse_env(
        tmp_path / "data",
        DATABASE_URL=url,
        PULSE_INGEST_TOKEN=TOKEN,
        PULSE_RATE_LIMIT_INGEST="off",
    )
    subprocess.run(
        [sys.executable, "-m", "ingest_api", "migrate"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    with (
        serving(
            [sys.executable, "-m", "ingest_api", "api", "--port", str(port), "--workers", "1"],
            ready=lambda: answers(f"{api_url}/health"),
            timeout=120,
            log=tmp_path / "api.log",
            env=env,
            cwd=ROOT,
        ),
        serving(
            [sys.executable, "-m", "ingest_api", "worker"],
            ready=lambda: True,
            timeout=60,
            log=tmp_path / "worker.log",
            env=env,
            cwd=ROOT,
        ),
    ):
        yield api_url
