"""Faults under load: what a client was told is stored survives, and everything comes back.

Each scenario runs `pulse up` (API, worker, dashboard, Streamlit) in a scratch directory under
/tmp while `--clients` concurrent clients post `--events` runs through POST /api/events/run
(bearer token). Every event has its own (source, external_id), so a client retries a failed
post until it gets a 2xx, as a CI reporter does; a WebSocket client stays on /ws/metrics
throughout, reconnecting as the dashboard does. Once a third of the events are acknowledged:

  api kill -9      SIGKILL to the API process `pulse up` started (it restarts it)
  pg kill -9       SIGKILL to the embedded PostgreSQL postmaster (`pulse up` restarts it)
  pg stopped 10 s  a PostgreSQL the bench owns (DATABASE_URL) shut down for 10 s, then back
  pg hung 10 s     the same server SIGSTOPped for 10 s (it accepts connections, answers nothing)
  disk full        the data dir on a tmpfs of its own, filled for 10 s under load, then freed
  smtp outage      not run here: tests/alerts/ covers it (row points at the tests)

Then, with the load done: how many acknowledged runs are stored (by external_id), whether the
hourly running totals equal a GROUP BY over runs (tests/rollup_checks.py) and the daily history
after the worker's incremental refreshes equals a full recomputation, and whether the live
summary the WebSocket client last got equals the stored runs.

Columns: a failing request's wait is from its send to its failed answer (503, a reset, a
refused connection). Recovery is from the fault (a kill) or the cause's end (the database back,
the disk freed) to the end of the last failed request; for the stop also to the first live
summary after it (live) and the worker's first history refresh after it (worker).

    python -m bench.faults [--events 10000] [--clients 16] [--only api-kill,pg-kill,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
from sqlalchemy import Connection, text

from ingest_api.db import make_engine
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import answers, free_port, wait_until
from ingest_api.worker import refresh_history
from tests.e2e.processes import PulseUp, descendants
from tests.e2e.processes import pulse_up as e2e_pulse_up
from tests.rollup_checks import assert_rollups_exact

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-faults-token-0123456789abcdef"
SOURCE = "faults"
PIPELINES = ("web", "api", "worker", "docs")
BRANCHES = ("main", "main", "develop", "feature/login")
REQUEST_TIMEOUT = 30.0
GIVE_UP_SEC = 180.0  # a client stops retrying an event after this long
OUTAGE_SEC = 10.0
SMTP_TESTS = "tests/alerts/test_delivery.py, tests/alerts/test_smtp.py"
HISTORY_VIEWS = {
    "daily_pipeline_history": "pipeline, day",
    "daily_branch_history": "pipeline, branch, day",
}


def make_events(count: int, tag: str, seed: int = 18) -> list[bytes]:
    """Finished runs of the last six hours, each with its own external_id."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for i in range(count):
        started = now - timedelta(seconds=rng.uniform(600, 6 * 3600))
        duration = round(rng.uniform(5, 590), 3)
        event = {
            "pipeline": rng.choice(PIPELINES),
            "status": "failure" if rng.random() < 0.25 else "success",
            "started_at": started.isoformat(),
            "finished_at": (started + timedelta(seconds=duration)).isoformat(),
            "branch": rng.choice(BRANCHES),
            "commit": f"{rng.getrandbits(28):07x}",
            "triggered_by": "bench",
            "external_id": f"{tag}-{i}",
            "source": SOURCE,
        }
        bodies.append(json.dumps(event).encode())
    return bodies


@dataclass
class Tally:
    """What the clients saw, in monotonic time."""

    acked: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    failure_ends: list[float] = field(default_factory=list)
    max_fail_wait: float = 0.0
    max_ok_wait: float = 0.0
    given_up: int = 0
    live_summaries: list[tuple[float, int]] = field(default_factory=list)  # (when, total)


class Load:
    """`clients` coroutines posting `bodies` (retrying each until a 2xx) and one WebSocket
    client, in a thread of their own so the main thread can inject faults."""

    def __init__(self, api_url: str, bodies: list[bytes], clients: int) -> None:
        self.api_url = api_url
        self.bodies = bodies
        self.clients = clients
        self.tally = Tally()
        self.done = threading.Event()
        self._closing = threading.Event()
        self._next = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join(30)

    def wait(self, timeout: float) -> None:
        """Until every event is acknowledged or given up; the WebSocket client stays on."""
        if not self.done.wait(timeout):
            raise RuntimeError(f"the load did not finish within {timeout:.0f} s")

    async def _main(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=self.clients + 1)
        async with aiohttp.ClientSession(
            headers=headers, timeout=timeout, connector=connector
        ) as http:
            live = asyncio.create_task(self._watch(http))
            try:
                await asyncio.gather(*(self._post_loop(http) for _ in range(self.clients)))
            finally:
                self.done.set()
            await asyncio.to_thread(self._closing.wait)
            live.cancel()
            with suppress(asyncio.CancelledError):
                await live

    async def _post_loop(self, http: aiohttp.ClientSession) -> None:
        url = f"{self.api_url}/api/events/run"
        tally = self.tally
        while self._next < len(self.bodies):
            index, self._next = self._next, self._next + 1
            body = self.bodies[index]
            key = json.loads(body)["external_id"]
            deadline = time.monotonic() + GIVE_UP_SEC
            while True:
                started = time.monotonic()
                try:
                    async with http.post(url, data=body) as response:
                        await response.read()
                        kind = None if response.status < 300 else str(response.status)
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    kind = type(exc).__name__
                ended = time.monotonic()
                if kind is None:
                    tally.acked.add(key)
                    tally.max_ok_wait = max(tally.max_ok_wait, ended - started)
                    break
                tally.failures[kind] += 1
                tally.failure_ends.append(ended)
                tally.max_fail_wait = max(tally.max_fail_wait, ended - started)
                if ended > deadline:
                    tally.given_up += 1
                    break
                await asyncio.sleep(0.1)

    async def _watch(self, http: aiohttp.ClientSession) -> None:
        """The dashboard's socket: every metrics_update's total, reconnecting when dropped."""
        url = self.api_url.replace("http", "ws", 1) + "/ws/metrics?minutes=1440"
        while True:
            with suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
                    async for message in ws:
                        if message.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(message.data)
                        if data["type"] == "metrics_update":
                            total = int(data["payload"]["total"])
                            self.tally.live_summaries.append((time.monotonic(), total))
            await asyncio.sleep(0.5)


@dataclass
class Row:
    scenario: str
    load: str
    acked: int | None = None
    stored: int | None = None
    lost: int | None = None
    max_fail_wait: float | None = None
    max_ok_wait: float = 0.0
    recovery: str = "-"
    exact: str = "-"
    notes: list[str] = field(default_factory=list)


@contextmanager
def pulse_up(
    data_dir: Path,
    log: Path,
    *,
    database_url: str | None = None,
    workers: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[PulseUp]:
    """`pulse up` as a user runs it (every child, `workers` API processes or one per core), on
    free ports; stopped on leaving."""
    env = {
        "PULSE_INGEST_TOKEN": TOKEN,
        "PULSE_DEMO": "false",
        "PULSE_API_WORKERS": str(workers or os.cpu_count() or 1),
        # Each second rather than each minute, so the worker's recovery is measurable.
        "PULSE_HISTORY_REFRESH_SEC": "1",
        # One token posting as fast as 16 clients can: the per-token limit would answer 429s,
        # which are not what this measures.
        "PULSE_RATE_LIMIT_INGEST": "off",
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(extra_env or {})
    with e2e_pulse_up(data_dir, log, extra_env=env) as pulse:
        yield pulse


def db_url_of(pulse: PulseUp) -> str:
    """The embedded server's URL (`pulse db-url`, as a user gets it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_URL"))}
    env["PULSE_DATA_DIR"] = str(pulse.data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "ingest_api", "db-url"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def _history(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        view: [
            tuple(row)
            for row in conn.execute(text(f"select * from {view} order by {key}"))  # noqa: S608 (constant names)
        ]
        for view, key in HISTORY_VIEWS.items()
    }


@dataclass(frozen=True)
class Verdict:
    stored: set[str]
    rollups_exact: bool
    history_diff: list[str]  # empty when the history equals a full recomputation
    runs: int

    @property
    def history_exact(self) -> bool:
        return not self.history_diff


def verify(url: str) -> Verdict:
    """The stored keys; rollups against GROUP BYs; the incremental history against a full
    recomputation. Changes nothing: the checks that write roll back."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    text("select external_id from runs where source = :s"), {"s": SOURCE}
                ).scalars()
            )
            runs = conn.execute(text("select count(*) from runs")).scalar_one()
        # What the worker has left to do, done as it would: incrementally.
        refresh_history(engine, wait=True)
        with engine.connect() as conn:
            try:
                assert_rollups_exact(conn)
                rollups_exact = True
            except AssertionError:
                rollups_exact = False
            conn.rollback()
            incremental = _history(conn)
            conn.execute(text("select * from refresh_history(true, true)"))
            full = _history(conn)
            conn.rollback()
        history_diff = [
            f"{view}: incremental {sorted(set(rows) - set(full[view]))[:2]} "
            f"full {sorted(set(full[view]) - set(rows))[:2]}"
            for view, rows in incremental.items()
            if rows != full[view]
        ]
    finally:
        engine.dispose()
    return Verdict(stored, rollups_exact, history_diff, runs)


def live_converged(load: Load, runs: int, timeout: float = 30.0) -> bool:
    """Whether the WebSocket's latest summary comes to count every stored run."""

    def latest() -> bool:
        summaries = load.tally.live_summaries
        return bool(summaries) and summaries[-1][1] == runs

    return bool(wait_until(latest, timeout, interval=0.2))


def _recovery_after(tally: Tally, moment: float) -> float:
    """From `moment` to the end of the last failed request (0: none failed after it)."""
    after = [end for end in tally.failure_ends if end >= moment]
    return max(after) - moment if after else 0.0


def _finish(row: Row, load: Load, url: str, wait: float) -> Verdict:
    load.wait(wait)
    verdict = verify(url)
    tally = load.tally
    row.acked = len(tally.acked)
    row.stored = len(tally.acked & verdict.stored)
    row.lost = len(tally.acked - verdict.stored)
    row.max_fail_wait = tally.max_fail_wait
    row.max_ok_wait = tally.max_ok_wait
    live = live_converged(load, verdict.runs)
    row.exact = "/".join(
        "yes" if ok else "NO" for ok in (verdict.rollups_exact, verdict.history_exact)
    )
    row.exact += "" if live else ", live NO"
    row.notes.extend(f"history differs: {diff}" for diff in verdict.history_diff)
    failed = ", ".join(f"{n} {kind}" for kind, n in tally.failures.most_common())
    row.notes.append(
        f"failed attempts (retried): {failed or 'none'}; slowest 2xx {tally.max_ok_wait:.2f} s"
    )
    if tally.given_up:
        row.notes.append(f"{tally.given_up} events given up after {GIVE_UP_SEC:g} s of retries")
    return verdict


def _wait_acked(load: Load, count: int, timeout: float = 300) -> None:
    if not wait_until(lambda: len(load.tally.acked) >= count or load.done.is_set(), timeout):
        raise RuntimeError(f"fewer than {count} events acknowledged in {timeout:.0f} s")


def _load_label(events: int, clients: int) -> str:
    return f"{events:,} events, {clients} clients"


def scenario_api_kill(scratch: Path, events: int, clients: int, workers: int | None) -> Row:
    row = Row("api kill -9", _load_label(events, clients))
    with pulse_up(scratch / "api", scratch / "api.log", workers=workers) as pulse:
        url = db_url_of(pulse)
        with Load(pulse.api_url, make_events(events, "api"), clients) as load:
            _wait_acked(load, events // 3)
            api = pulse.child("api")
            os.kill(api, signal.SIGKILL)
            killed = time.monotonic()
            _finish(row, load, url, wait=GIVE_UP_SEC + 300)
            restarted = wait_until(lambda: _other_child(pulse, "api", api), 60)
            row.recovery = f"{_recovery_after(load.tally, killed):.1f} s"
            row.notes.append("API restarted by pulse up" if restarted else "API NOT restarted")
            orphans = [p for p in descendants(1) if _is_api_worker_of(p, api)]
            if orphans:
                row.notes.append(f"{len(orphans)} orphaned API workers still running")
    return row


def _other_child(pulse: PulseUp, command: str, old: int) -> bool:
    with suppress(AssertionError):
        return pulse.child(command) != old and answers(f"{pulse.api_url}/health")
    return False


def _is_api_worker_of(pid: int, parent: int) -> bool:
    """A uvicorn worker whose `pulse api` parent was `parent` (it names it in its env)."""
    with suppress(OSError):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return f"PULSE_API_PARENT_PID={parent}".encode() in environ
    return False


def scenario_pg_kill(scratch: Path, events: int, clients: int, workers: int | None) -> Row:
    row = Row("pg kill -9", _load_label(events, clients))
    with pulse_up(scratch / "pgkill", scratch / "pgkill.log", workers=workers) as pulse:
        url = db_url_of(pulse)
        with Load(pulse.api_url, make_events(events, "pgkill"), clients) as load:
            _wait_acked(load, events // 3)
            postmaster = pulse.postmaster()
            os.kill(postmaster, signal.SIGKILL)
            killed = time.monotonic()
            back = wait_until(lambda: pulse.postmaster() != postmaster, 120, interval=0.1)
            _finish(row, load, url, wait=GIVE_UP_SEC + 300)
            row.recovery = f"{_recovery_after(load.tally, killed):.1f} s"
            row.notes.append(
                "PostgreSQL restarted by pulse up (fsync on)"
                if back
                else "PostgreSQL NOT restarted"
            )
    return row


def scenario_pg_stop(scratch: Path, events: int, clients: int, workers: int | None) -> Row:
    return _outage(scratch, events, clients, workers, hung=False)


def scenario_pg_hung(scratch: Path, events: int, clients: int, workers: int | None) -> Row:
    return _outage(scratch, events, clients, workers, hung=True)


def _outage(scratch: Path, events: int, clients: int, workers: int | None, *, hung: bool) -> Row:
    """A PostgreSQL the bench owns (DATABASE_URL) out for OUTAGE_SEC: shut down (fast), or
    hung (every process of it SIGSTOPped: connections open, nothing answers)."""
    name = "hung" if hung else "stopped"
    row = Row(f"pg {name} {OUTAGE_SEC:g} s", _load_label(events, clients))
    server = EmbeddedPostgres(scratch / f"db-{name}", port=free_port())
    server.start()
    try:
        url = server.url
        with (
            pulse_up(
                scratch / name, scratch / f"{name}.log", database_url=url, workers=workers
            ) as pulse,
            Load(pulse.api_url, make_events(events, name), clients) as load,
        ):
            _wait_acked(load, events // 3)
            refreshed = _refreshed_at_or_none(url)
            out = time.monotonic()
            postmaster = server.pid
            if hung and postmaster is not None:
                _signal_server(postmaster, signal.SIGSTOP)
            else:
                server.stop()
            health = _health_while_down(pulse.api_url, timeout=OUTAGE_SEC - 1)
            wait_until(lambda: False, out + OUTAGE_SEC - time.monotonic())
            if hung and postmaster is not None:
                _signal_server(postmaster, signal.SIGCONT)
            else:
                server.start()
            back = time.monotonic()
            worker = _worker_back(url, refreshed, back)
            _finish(row, load, url, wait=GIVE_UP_SEC + 300)
            live = [t for t, _ in load.tally.live_summaries if t >= back]
            api = _recovery_after(load.tally, back)
            row.recovery = (
                f"api {api:.1f} s, live {live[0] - back:.1f} s, worker {worker:.1f} s"
                if live and worker is not None
                else f"api {api:.1f} s"
            )
        if not live or worker is None:
            row.notes.append("live or worker NOT back")
        row.notes.append(f"/health while {name}: {health}")
    finally:
        server.stop()
    return row


def _signal_server(postmaster: int, sig: int) -> None:
    """`sig` to the postmaster (first, so it starts nothing new) and to every process of it
    (each backend is a process group of its own: killpg would reach the postmaster alone)."""
    for pid in [postmaster, *descendants(postmaster)]:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def _health_while_down(api_url: str, timeout: float) -> str:
    started = time.monotonic()
    try:
        response = httpx.get(f"{api_url}/health", timeout=timeout)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"no answer in {time.monotonic() - started:.1f} s ({type(exc).__name__})"
    return (
        f"{response.status_code} {body.get('error')} ok={body.get('ok')} "
        f"in {time.monotonic() - started:.2f} s"
    )


def _refreshed_at_or_none(url: str) -> datetime | None:
    with suppress(psycopg.Error), psycopg.connect(url, connect_timeout=3) as conn:
        row = conn.execute("select refreshed_at from history_state").fetchone()
        return row[0] if row else None
    return None


def _worker_back(url: str, before: datetime | None, back: float) -> float | None:
    """Seconds from `back` until history_state shows a refresh after the outage."""

    def refreshed() -> bool:
        now = _refreshed_at_or_none(url)
        return now is not None and (before is None or now > before)

    if not wait_until(refreshed, 60, interval=0.05):
        return None
    return time.monotonic() - back


def scenario_disk_full(scratch: Path, events: int, clients: int, workers: int | None) -> Row:
    row = Row("disk full", _load_label(events, clients))
    mount = scratch / "small-disk"
    mount.mkdir()
    problem = _mount_tmpfs(mount, "256m")
    if problem is not None:
        row.notes.append(f"not measured: no small filesystem here ({problem})")
        return row
    try:
        with pulse_up(mount / "data", scratch / "disk.log", workers=workers) as pulse:
            url = db_url_of(pulse)
            with Load(pulse.api_url, make_events(events, "disk"), clients) as load:
                _wait_acked(load, events // 3)
                filler = mount / "filler"
                fill(filler)
                full_at = time.monotonic()
                wait_until(lambda: False, OUTAGE_SEC)
                before = sum(1 for end in load.tally.failure_ends if end >= full_at)
                filler.unlink()
                freed = time.monotonic()
                _finish(row, load, url, wait=GIVE_UP_SEC + 300)
                row.recovery = f"{_recovery_after(load.tally, freed):.1f} s"
                row.notes.append(
                    f"{before} failed attempts while full; PostgreSQL log says: "
                    + _disk_errors(pulse.data_dir / "postgres.log")
                )
                said = [
                    line.strip()
                    for line in pulse.output.splitlines()
                    if line.startswith("PostgreSQL ")
                    and (" exited " in line or "not start" in line)
                ]
                row.notes.append(
                    "pulse up: " + " | ".join(said[-3:]) if said else "PostgreSQL kept running"
                )
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    return row


def _mount_tmpfs(path: Path, size: str) -> str | None:
    """None when a tmpfs of `size` is mounted at `path`; else why not."""
    if os.geteuid() != 0:
        return "not root"
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if result.returncode == 0 else (result.stderr.strip() or "mount failed")


def fill(path: Path) -> None:
    """Write zeros to `path` until the filesystem has no byte left."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            piece = chunk[:size]
            with suppress(OSError):
                while True:
                    out.write(piece)


def _disk_errors(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    # The message without its file names: "ERROR: could not extend file …: No space left …".
    kinds = Counter(
        re.sub(r'"[^"]*"', "…", line.split("] ", 1)[-1])
        for line in lines
        if "No space left" in line or "PANIC" in line
    )
    return "; ".join(f"{n} x {k}" for k, n in kinds.most_common(3)) or "no disk errors logged"


def smtp_row() -> Row:
    row = Row("smtp outage / hung", "alert delivery")
    row.recovery = "see tests"
    row.exact = "see tests"
    row.notes.append(f"covered by {SMTP_TESTS} (make test)")
    return row


SCENARIOS: dict[str, Callable[[Path, int, int, int | None], Row]] = {
    "api-kill": scenario_api_kill,
    "pg-kill": scenario_pg_kill,
    "pg-stop": scenario_pg_stop,
    "pg-hung": scenario_pg_hung,
    "disk-full": scenario_disk_full,
}


def _cell(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _wait_cell(row: Row) -> str:
    """A failing request's longest wait, and a 2xx's when one waited past the 5 s promise."""
    if row.max_fail_wait is None:
        return "-"
    slow = f" (a 2xx: {row.max_ok_wait:.1f} s)" if row.max_ok_wait > 5 else ""
    return f"{row.max_fail_wait:.2f} s{slow}"


def report(rows: list[Row]) -> str:
    header = [
        "scenario",
        "load",
        "2xx answers",
        "runs stored of those",
        "lost",
        "max wait of a failing request",
        "recovery time",
        "rollups/history == recomputation",
    ]
    lines = [
        [
            r.scenario,
            r.load,
            _cell(r.acked, ","),
            _cell(r.stored, ","),
            _cell(r.lost, ","),
            _wait_cell(r),
            r.recovery,
            r.exact,
        ]
        for r in rows
    ]
    out = [" | ".join(header)]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    out = [" | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    out.append("-|-".join("-" * w for w in widths))
    for cells in lines:
        out.append(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    notes = [f"  {r.scenario}: {note}" for r in rows for note in r.notes]
    return "\n".join([*out, "", "notes:", *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="API workers (default: cores)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (logs, data) and say where"
    )
    opts = parser.parse_args(argv)
    chosen = [name.strip() for name in opts.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scratch = Path(tempfile.mkdtemp(prefix="pulse-faults-"))
    rows: list[Row] = []
    try:
        for name in chosen:
            print(f"running {name} …", file=sys.stderr, flush=True)
            rows.append(SCENARIOS[name](scratch, opts.events, opts.clients, opts.workers))
    finally:
        if opts.keep:
            print(f"scratch directory kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    rows.append(smtp_row())
    print(report(rows))
    return 0 if all(not r.lost for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
