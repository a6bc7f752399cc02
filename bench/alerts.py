"""Alerting's cost and its drain: ingest throughput with alerting on vs off, and 1,000
transitions at once through a loopback SMTP server.

Starts a scratch embedded PostgreSQL outside the checkout, `pulse api` (one process) and
`pulse worker` mailing an aiosmtpd sink (each in a process of its own). Then, in the same run:

  off   `--clients` clients post runs for `--seconds` with alerting off (no alerting branch);
  on    the same load with alerting on: each client owns a pipeline on `main` and changes its
        status every ten runs, so one run in ten is a transition that the trigger records and
        the worker mails while the load goes on;
  (off and on alternate `--rounds` times, so neither gets the warm-up)
  drain 1,000 pipelines turn failing in one transaction; the time from its commit until the
        SMTP server holds every mail (each exactly once) is reported.

Goal: on >= 0.9 x off (runs/s).

    python -m bench.alerts [--seconds 10] [--clients 8] [--transitions 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ingest_api import migrate
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import answers, free_port, serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-alerts-token-0123456789"
GOAL = 0.9
RUNS_PER_TRANSITION = 10
READY_TIMEOUT = 120.0


class Sink:
    """An SMTP server's handler that notes each accepted mail's Message-ID, one per line."""

    def __init__(self, path: Path) -> None:
        self.out = path.open("a", buffering=1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        head = content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        header = next((h for h in head if h.lower().startswith(b"message-id:")), b"?")
        self.out.write(header.decode(errors="replace") + "\n")
        return "250 2.0.0 Ok"


def _serve_sink(port: int, path: Path) -> None:
    """`python -m bench.alerts sink PORT FILE`: the SMTP server, in a process of its own so
    its CPU is not the load client's (one GIL)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    loop = asyncio.new_event_loop()
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port, loop=loop)
    controller.start()
    path.with_suffix(".ready").touch()
    stop.wait()
    controller.stop()
    loop.close()


def _taken(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


@dataclass
class Load:
    runs: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, other: Load) -> None:
        self.runs += other.runs
        self.errors += other.errors
        self.seconds += other.seconds

    @property
    def rate(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0


@contextmanager
def smtp_sink(scratch: Path) -> Iterator[tuple[int, Path]]:
    port, taken = free_port(), scratch / "smtp-taken.txt"
    with serving(
        [sys.executable, "-m", "bench.alerts", "sink", str(port), str(taken)],
        ready=lambda: taken.with_suffix(".ready").exists(),
        timeout=READY_TIMEOUT,
        log=scratch / "smtp.log",
        cwd=ROOT,
    ):
        yield port, taken


def _set_alerting(url: str, *, on: bool) -> None:
    # Off: no branch alerts, so the trigger decides nothing (as PULSE_ALERT_BRANCHES= would).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update alert_settings set branches = %s, reminder_min = 0",
            (["main"] if on else [],),
        )


async def _client(
    session: aiohttp.ClientSession, base: str, pipeline: str, until: float, load: Load
) -> None:
    n = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    while time.monotonic() < until:
        status = "failure" if (n // RUNS_PER_TRANSITION) % 2 else "success"
        body = {
            "pipeline": pipeline,
            "status": status,
            "branch": "main",
            "commit": f"{n:07x}",
            "triggered_by": "bench",
            "duration_sec": 12.5,
        }
        try:
            async with session.post(f"{base}/api/events/run", json=body, headers=headers) as r:
                await r.read()
                if r.status == 200:
                    load.runs += 1
                else:
                    load.errors += 1
        except aiohttp.ClientError:
            load.errors += 1
        n += 1


async def _load(base: str, phase: str, clients: int, seconds: float) -> Load:
    load = Load()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(_client(session, base, f"{phase}-{c}", until, load) for c in range(clients))
        )
        load.seconds = time.monotonic() - started
    return load


def _drain(url: str, sink: Path, transitions: int, timeout: float) -> tuple[float, int, int]:
    """1,000 pipelines turn failing in one commit: seconds until every mail was taken, mails
    taken, distinct Message-IDs among them."""
    with psycopg.connect(url, autocommit=True) as conn:
        ingest = (
            "select ingest_run('drain-' || g, %s, null, null, 1, 'main', 'c', 'bench', 'api',"
            " null, null, null, null) from generate_series(1, %s) g"
        )
        conn.execute(ingest, ("success", transitions))
        before = len(_taken(sink))
        with conn.transaction():
            conn.execute(ingest, ("failure", transitions))
        committed = time.monotonic()
    deadline = committed + timeout
    while len(_taken(sink)) - before < transitions and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.monotonic() - committed
    time.sleep(1.0)  # a duplicate would arrive now
    taken = _taken(sink)[before:]
    return elapsed, len(taken), len(set(taken))


def _env(url: str, scratch: Path, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
    env.update(
        DATABASE_URL=url,
        PULSE_INGEST_TOKEN=TOKEN,
        PULSE_RATE_LIMIT_INGEST="off",  # the bench measures the write path, past any limit
        PULSE_API_WORKERS="1",
        PULSE_DATA_DIR=str(scratch / "data"),
        PULSE_SMTP_HOST="127.0.0.1",
        PULSE_SMTP_PORT=str(smtp_port),
        PULSE_SMTP_SECURITY="none",
        PULSE_ALERT_TO="team@bench.test",
        PULSE_ALERT_FROM="pulse@bench.test",
        PULSE_ALERT_BRANCHES="main",
        PULSE_ALERT_REMINDER_MIN="0",
    )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--transitions", type=int, default=1000)
    parser.add_argument(
        "--no-delivery",
        action="store_true",
        help="the worker mails nothing: prices the trigger alone (no drain)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="off/on alternations (evens out warm-up)"
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sink"]:
        _serve_sink(int(argv[1]), Path(argv[2]))
        return 0
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="pulse-bench-alerts-") as tmp,
        smtp_sink(Path(tmp)) as (smtp_port, sink),
    ):
        scratch = Path(tmp)
        server = EmbeddedPostgres(scratch / "pg")
        url = server.start()
        try:
            migrate.upgrade(url)
            env = _env(url, scratch, smtp_port)
            if args.no_delivery:
                env["PULSE_ALERT_TO"] = ""
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            common: dict[str, Any] = {"cwd": ROOT, "env": env, "start_new_session": True}
            with (
                serving(
                    [sys.executable, "-m", "ingest_api", "api", "--port", str(port)],
                    ready=lambda: answers(f"{base}/health"),
                    timeout=READY_TIMEOUT,
                    log=scratch / "api.log",
                    **common,
                ),
                serving(
                    [sys.executable, "-m", "ingest_api", "worker"],
                    ready=lambda: "Alerts:" in _read(scratch / "worker.log"),
                    timeout=READY_TIMEOUT,
                    log=scratch / "worker.log",
                    **common,
                ),
            ):
                results = {"off": Load(), "on": Load()}
                mailed = {"off": 0, "on": 0}
                for _ in range(args.rounds):
                    for phase in ("off", "on"):
                        _set_alerting(url, on=phase == "on")
                        before = len(_taken(sink))
                        load = asyncio.run(
                            _load(base, phase, args.clients, args.seconds / args.rounds)
                        )
                        results[phase].add(load)
                        mailed[phase] += len(_taken(sink)) - before
                _set_alerting(url, on=True)
                drain = (
                    _drain(url, sink, args.transitions, timeout=max(120.0, args.transitions))
                    if not args.no_delivery
                    else None
                )
        finally:
            server.stop()

    off, on = results["off"], results["on"]
    ratio = on.rate / off.rate if off.rate else 0.0
    print(f"alerting bench: {args.clients} clients, {args.seconds:g} s per phase, one API process")
    print()
    print("phase       |   runs | runs/s | errors | mails")
    print("------------+--------+--------+--------+------")
    for name, load in (("off", off), ("on (1 in 10)", on)):
        print(
            f"{name:<12}| {load.runs:6d} | {load.rate:6.0f} | {load.errors:6d} | "
            f"{mailed[name.split()[0]]:5d}"
        )
    print()
    complete = True
    if drain is not None:
        elapsed, taken, distinct = drain
        print(
            f"drain: {args.transitions} transitions in one commit -> {taken} mails "
            f"({distinct} distinct) in {elapsed:.2f} s ({taken / elapsed:.0f} mails/s, one worker)"
        )
        complete = taken == distinct == args.transitions
    print(f"on/off = {ratio:.2f}")
    print(f"goal: on >= {GOAL} x off: {'PASS' if ratio >= GOAL else 'FAIL'}")
    if drain is not None:
        print(f"drain: every mail once: {'PASS' if complete else 'FAIL'}")
    return 0 if complete and not off.errors and not on.errors else 1


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
