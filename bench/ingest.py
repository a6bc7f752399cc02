"""Ingest throughput: our POST /api/events/run against its two floors, measured in one run.

Rows, one after the other on the same migrated database (emptied of runs and of what is derived
from them, and checkpointed, before each), each with the same number of concurrent clients for the
same time after a warm-up that is not counted:

  (a) raw      psycopg only, no HTTP: one thread per client, each with its own autocommit
               connection, running `bench.minimal_app.INSERT_RUN` once per run.
  (b) minimal  `bench/minimal_app.py`: a minimal FastAPI endpoint doing that same INSERT.
  (c) ours     `python -m ingest_api api`: token auth, validation, the `ingest_run` SQL function
               as one statement on an async psycopg pool (`ingest_api/runs/service.py`).

(b) and (c) are served the same way (uvicorn, the same worker count, access log off, uvicorn's
default loop and HTTP implementation) and loaded by the same client code: one aiohttp session in
this process, one keep-alive worker coroutine per client, posting the same pre-serialised, varied
events (plain new runs of a few pipelines and branches) and timing each request. A request counts
when it completes inside the measured window; any answer but 200, or a failure in the client, is an
error. The triggers the schema puts on `runs` fire in every row, so the floors pay the database's
share too and the ratios price the app alone. CPU time over the window, per process group (this
client, the servers, PostgreSQL, everything else on the machine), shows where the time goes.

The database is an embedded PostgreSQL server in a temporary directory under /tmp, or with
--database-url a scratch database created on that server; either is removed at the end.

    python -m bench.ingest [--seconds 20] [--clients 16] [--workers N (default: cores)]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import aiohttp
import psycopg
from psycopg import sql
from sqlalchemy import make_url

from bench.minimal_app import INSERT_RUN
from ingest_api import migrate
from ingest_api.db import libpq_url
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import ProcessNotReady, answers, die_with_parent, free_port, serving

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
GOAL = 0.6  # ours should keep at least this share of the minimal app's throughput
READY_TIMEOUT = 120.0  # generous: the machine is shared and noisy
REQUEST_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
PORT_ATTEMPTS = 3  # a port picked free can be taken before the server binds it
EVENT_COUNT = 4096

PIPELINES = ("web", "api", "worker", "docs", "mobile")
BRANCHES = ("main", "main", "main", "develop", "release/2.4", "feature/login", "fix/flaky-test")
USERS = ("octocat", "hubot", "dependabot[bot]", "alice", "bob")
CLK_TCK = os.sysconf("SC_CLK_TCK")

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    seconds: float
    clients: int
    workers: int
    warmup: float
    database_url: str | None
    pipelines: tuple[str, ...] = ()
    rows: str = "abcd"


@dataclass(frozen=True)
class Database:
    url: str
    where: str
    postmaster_pid: int | None  # known for the embedded server only: its CPU is then measured


@dataclass(frozen=True)
class Bench:
    """What every row gets."""

    options: Options
    db: Database
    scratch: Path
    events: list[dict[str, Any]]
    bodies: list[bytes]
    token: str


@dataclass
class Tally:
    """One client's results; completions outside [t0, t1] are warm-up or drain."""

    t0: float
    t1: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    warmup_errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    ok_total: int = 0  # warm-up included: checked against the rows in the table

    def ok(self, start: float, end: float) -> None:
        self.ok_total += 1
        if self.t0 <= end <= self.t1:
            self.latencies.append(end - start)

    def error(self, end: float, kind: str, detail: str) -> None:
        if end <= self.t1:
            (self.errors if end >= self.t0 else self.warmup_errors)[kind] += 1
        self.samples.setdefault(kind, detail.strip()[:300])

    def merge(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.warmup_errors += other.warmup_errors
        for kind, detail in other.samples.items():
            self.samples.setdefault(kind, detail)
        self.ok_total += other.ok_total


@dataclass(frozen=True)
class Measurement:
    tally: Tally
    cpu: dict[str, float]  # group -> cores busy over the window
    stored: int  # rows in `runs` afterwards

    @property
    def window(self) -> float:
        return self.tally.t1 - self.tally.t0

    @property
    def requests(self) -> int:
        return len(self.tally.latencies) + self.tally.errors.total()

    @property
    def rate(self) -> float:
        return len(self.tally.latencies) / self.window

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.tally.latencies)
        if not ordered:
            return math.nan
        return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Row:
    """One line of the table. A variant (say, ours with triggers off) is one more Row."""

    key: str  # the ratios name rows by it
    name: str
    run: Callable[[Bench], Measurement]

    @property
    def label(self) -> str:
        return f"({self.key}) {self.name}"


@dataclass(frozen=True)
class CpuProbe:
    """CPU seconds of this process, of process trees by their root pid, and of the machine."""

    trees: dict[str, int | None]

    def snapshot(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        snap = {"client": usage.ru_utime + usage.ru_stime, "wall": time.perf_counter()}
        table = _processes()
        for name, root in self.trees.items():
            if root is not None:
                snap[name] = tree_cpu_seconds(root, table)
        snap["machine"] = _machine_busy()
        return snap

    @staticmethod
    def cores(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        wall = after["wall"] - before["wall"]
        return {k: (after[k] - before[k]) / wall for k in after if k != "wall" and k in before}


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds of it and of its reaped children)."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: a child's time moves to cutime when it is reaped, so the
        # sum over a live tree never drops when a backend or worker exits.
        ticks = sum(int(f) for f in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), ticks / CLK_TCK)
    return table


def tree_cpu_seconds(root: int, table: dict[int, tuple[int, float]] | None = None) -> float:
    """CPU seconds of the process `root` and every process below it (reaped ones included)."""
    table = table if table is not None else _processes()
    return sum(table[pid][1] for pid in _tree(root, table))


def _tree(root: int, table: dict[int, tuple[int, float]]) -> set[int]:
    found = {root} if root in table else set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def _machine_busy() -> float:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def run_raw(bench: Bench) -> Measurement:
    """(a): N threads, each with its own autocommit connection, one INSERT per run."""
    opts = bench.options
    conns = [psycopg.connect(bench.db.url, autocommit=True) for _ in range(opts.clients)]
    stop = threading.Event()
    begin = time.perf_counter()
    tallies = [Tally(begin + opts.warmup, begin + opts.warmup + opts.seconds) for _ in conns]

    def insert_loop(conn: psycopg.Connection[Any], tally: Tally, offset: int) -> None:
        events = bench.events
        i = offset
        while not stop.is_set() and (start := time.perf_counter()) < tally.t1:
            try:
                conn.execute(INSERT_RUN, events[i % len(events)]).fetchone()
            except psycopg.Error as exc:
                tally.error(time.perf_counter(), type(exc).__name__, str(exc))
            else:
                tally.ok(start, time.perf_counter())
            i += opts.clients

    threads = [
        threading.Thread(target=insert_loop, args=(conn, tally, n), daemon=True)
        for n, (conn, tally) in enumerate(zip(conns, tallies, strict=True))
    ]
    probe = CpuProbe({"postgres": bench.db.postmaster_pid})
    try:
        for thread in threads:
            thread.start()
        _sleep_until(tallies[0].t0)
        before = probe.snapshot()
        _sleep_until(tallies[0].t1)
        after = probe.snapshot()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for conn in conns:
            conn.close()
    return _measured(bench, tallies, CpuProbe.cores(before, after))


def run_minimal(bench: Bench) -> Measurement:
    """(b): bench/minimal_app.py, started and loaded exactly as (c)."""
    return _http_row(
        bench,
        "minimal",
        lambda port: ["-m", "bench.minimal_app", "--host", HOST, "--port", str(port)],
        {"BENCH_DATABASE_URL": bench.db.url},
        ready_path="/",
        post_path="/runs",
    )


def run_ours(bench: Bench) -> Measurement:
    """(c): the product's API as `pulse api` serves it."""
    return _http_row(
        bench,
        "ours",
        lambda port: ["-m", "ingest_api", "api", "--host", HOST, "--port", str(port)],
        {
            "DATABASE_URL": bench.db.url,
            "PULSE_INGEST_TOKEN": bench.token,
            "PULSE_DATA_DIR": str(bench.scratch / "pulse-data"),
            # The bench measures the write path, past any per-token limit.
            "PULSE_RATE_LIMIT_INGEST": "off",
        },
        ready_path="/health",
        post_path="/api/events/run",
    )


def run_ours_without_triggers(bench: Bench) -> Measurement:
    """(d): as (c) with the rollup triggers off, to price them (goal: they cost <= 25 %)."""
    with psycopg.connect(bench.db.url, autocommit=True) as conn:
        conn.execute("alter table runs disable trigger runs_keep_totals")
    try:
        return run_ours(bench)
    finally:
        with psycopg.connect(bench.db.url, autocommit=True) as conn:
            conn.execute("alter table runs enable trigger runs_keep_totals")


ROWS: tuple[Row, ...] = (
    Row("a", "raw", run_raw),
    Row("b", "minimal", run_minimal),
    Row("c", "ours", run_ours),
    Row("d", "ours, no triggers", run_ours_without_triggers),
)


def _http_row(
    bench: Bench,
    name: str,
    args: Callable[[int], list[str]],
    env: dict[str, str],
    *,
    ready_path: str,
    post_path: str,
) -> Measurement:
    with _serve(bench, name, args, env, ready_path) as (server, base_url):
        probe = CpuProbe({"servers": server.pid, "postgres": bench.db.postmaster_pid})
        tallies, cpu = _run_async(_load(bench, base_url + post_path, probe))
    return _measured(bench, tallies, cpu)


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    # uvloop when present (uvicorn[standard] brings it): the less CPU the client takes on two
    # cores, the less it steals from the servers it measures.
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


async def _load(bench: Bench, url: str, probe: CpuProbe) -> tuple[list[Tally], dict[str, float]]:
    """N keep-alive clients posting until the window closes; the same code for every HTTP row."""
    opts = bench.options
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bench.token}"}
    connector = aiohttp.TCPConnector(limit=opts.clients)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as http:
        begin = time.perf_counter()
        tallies = [
            Tally(begin + opts.warmup, begin + opts.warmup + opts.seconds)
            for _ in range(opts.clients)
        ]

        async def post_loop(tally: Tally, offset: int) -> None:
            bodies = bench.bodies
            i = offset
            while (start := time.perf_counter()) < tally.t1:
                body = bodies[i % len(bodies)]
                i += opts.clients
                try:
                    async with http.post(url, data=body) as response:
                        answer = await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    tally.error(time.perf_counter(), type(exc).__name__, str(exc))
                    continue
                end = time.perf_counter()
                if status == 200:
                    tally.ok(start, end)
                else:
                    tally.error(end, f"HTTP {status}", answer.decode("utf-8", "replace"))

        clients = [asyncio.create_task(post_loop(t, n)) for n, t in enumerate(tallies)]
        try:
            await asyncio.sleep(tallies[0].t0 - time.perf_counter())
            before = probe.snapshot()
            await asyncio.sleep(tallies[0].t1 - time.perf_counter())
            after = probe.snapshot()
        except BaseException:  # Ctrl-C (a cancellation) included: stop now, not at t1
            for client in clients:
                client.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            raise
        await asyncio.gather(*clients)
    return tallies, CpuProbe.cores(before, after)


def _measured(bench: Bench, tallies: list[Tally], cpu: dict[str, float]) -> Measurement:
    total = tallies[0]
    for tally in tallies[1:]:
        total.merge(tally)
    with psycopg.connect(bench.db.url) as conn:
        row = conn.execute("select count(*) from runs").fetchone()
    return Measurement(total, cpu, row[0] if row else 0)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.perf_counter()))


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    # Nothing of the caller's own configuration leaks into the servers under test.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PULSE_", "BENCH_")) and k not in {"DATABASE_URL", "TEST_DATABASE_URL"}
    }
    env.update(extra)
    return env


@contextmanager
def _serve(
    bench: Bench,
    name: str,
    args: Callable[[int], list[str]],
    env: dict[str, str],
    ready_path: str,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    workers = bench.options.workers
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port(HOST)
        log_path = bench.scratch / f"{name}-{attempt}.log"
        base_url = f"http://{HOST}:{port}"

        def ready(url: str = base_url + ready_path, log: Path = log_path) -> bool:
            # Every worker, not just the first to answer: the load starts on all of them.
            return (
                answers(url)
                and log.read_text(errors="replace").count("startup complete") >= workers
            )

        try:
            with serving(
                [sys.executable, *args(port), "--workers", str(workers)],
                ready=ready,
                timeout=READY_TIMEOUT,
                log=log_path,
                stop_timeout=STOP_TIMEOUT,
                cwd=ROOT,
                env=_server_env(env),
                stdin=subprocess.DEVNULL,
                # Own process group, so Ctrl-C reaches us alone and we stop it in order; and it
                # dies with us should we be killed.
                start_new_session=True,
                preexec_fn=die_with_parent(),
            ) as server:
                yield server, base_url
                return
        except ProcessNotReady as exc:
            if "address already in use" not in log_path.read_text(errors="replace").lower():
                raise RuntimeError(
                    f"{name} did not come up (exit {exc.returncode}):\n{exc.output}"
                ) from None
    raise RuntimeError(f"{name}: no free port after {PORT_ATTEMPTS} attempts")


@contextmanager
def _database(opts: Options, scratch: Path) -> Iterator[Database]:
    if opts.database_url is None:
        server = EmbeddedPostgres(scratch / "pg")
        url = server.start()
        try:
            yield Database(url, f"embedded in {scratch}", server.pid)
        finally:
            server.stop()
        return
    admin = libpq_url(opts.database_url)
    name = f"pulse_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        yield Database(url, f"scratch database {name} on --database-url", None)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


def _prepare(url: str, pipelines: tuple[str, ...]) -> str:
    """Migrate, create the pipelines (the raw and minimal INSERTs look them up); the version."""
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for pipeline in pipelines:
            conn.execute(
                "insert into pipelines (name) values (%s) on conflict (name) do nothing",
                (pipeline,),
            )
        row = conn.execute("show server_version").fetchone()
    return str(row[0]) if row else "?"


def _reset(url: str) -> None:
    """Every row starts from the same state: no runs and nothing derived from them (row triggers
    do not fire on TRUNCATE, so derived tables are emptied too), the pipelines kept (the raw and
    minimal INSERTs look them up), and a fresh checkpoint."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "select tablename from pg_tables where schemaname = current_schema()"
            " and tablename not in ('pipelines', 'alembic_version')"
        ).fetchall()
        names = sql.SQL(", ").join(sql.Identifier(name) for (name,) in tables)
        conn.execute(sql.SQL("truncate {}").format(names))
        # Needs superuser or pg_checkpoint on an external server; the row runs without it.
        with suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("checkpoint")


def pipeline_names(count: int) -> tuple[str, ...]:
    """The usual five, then numbered ones: more pipelines spread writes over more rollup rows."""
    extra = (f"pipeline-{i:03d}" for i in range(len(PIPELINES) + 1, count + 1))
    return (PIPELINES + tuple(extra))[:count]


def make_events(
    count: int = EVENT_COUNT, seed: int = 7, pipelines: tuple[str, ...] = PIPELINES
) -> list[dict[str, Any]]:
    """Finished runs as CI systems report them, varied but the same on every run."""
    rng = random.Random(seed)
    return [
        {
            "pipeline": rng.choice(pipelines),
            "status": rng.choices(("success", "failure", "cancelled"), weights=(80, 17, 3))[0],
            "duration_sec": round(rng.lognormvariate(4.5, 0.6), 1),
            "branch": rng.choice(BRANCHES),
            "commit": rng.randbytes(20).hex(),
            "triggered_by": rng.choice(USERS),
        }
        for _ in range(count)
    ]


def _table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    out = []
    for cells in [header, *lines]:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        out.append("   ".join([first, *rest]).rstrip())
    return "\n".join(out)


def _report(
    opts: Options,
    db: Database,
    version: str,
    load_before: float,
    results: list[tuple[Row, Measurement]],
) -> str:
    cores = os.cpu_count() or 1
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    lines = [
        "Pipeline Pulse ingest benchmark",
        f"machine: {cores} cores, {platform.system()} {platform.release()}, "
        f"load average {load_before:.2f} before the run",
        f"database: PostgreSQL {version} ({db.where})",
        f"servers: uvicorn, workers: {opts.workers} each, access log off, loop {loop}, http {http}",
        f"load: {opts.clients} clients per row, {opts.seconds:g} s measured after "
        f"{opts.warmup:g} s warm-up; client aiohttp (b, c), psycopg threads (a); "
        f"events spread over {len(opts.pipelines)} pipelines",
        "",
    ]
    stats = [
        [
            row.label,
            str(m.requests),
            f"{m.rate:.0f}",
            *(f"{m.percentile_ms(p):.1f}" for p in (50, 95, 99)),
            str(m.tally.errors.total()),
        ]
        for row, m in results
    ]
    header = ["row", "requests", "runs/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    lines += [_table(header, stats), ""]

    by_key = {row.key: m for row, m in results}
    if {"a", "b", "c"} <= by_key.keys():
        a, b, c = by_key["a"].rate, by_key["b"].rate, by_key["c"].rate
        cb = c / b if b else math.nan
        ca = c / a if a else math.nan
        lines.append(f"c/b = {cb:.2f} (ours / minimal)   c/a = {ca:.2f} (ours / raw)")
        lines.append(f"goal: c >= {GOAL} x b: {'PASS' if cb >= GOAL else 'FAIL'}")
        if "d" in by_key and by_key["d"].rate:
            cost = 1 - c / by_key["d"].rate
            lines.append(
                f"rollup triggers cost {cost * 100:.0f} % of ingest throughput (1 - c/d); "
                f"goal <= 25 %: {'PASS' if cost <= 0.25 else 'FAIL'}"
            )
        lines.append("")

    def cores_or_dash(m: Measurement, key: str) -> str:
        return f"{m.cpu[key]:.2f}" if key in m.cpu else "-"

    def ms_per_run(m: Measurement, key: str) -> str:
        return f"{1000 * m.cpu[key] / m.rate:.2f}" if key in m.cpu and m.rate else "-"

    def other(m: Measurement) -> str:
        # Whatever else ran on the machine meanwhile: the noise this run shared it with.
        if "postgres" not in m.cpu:
            return "-"
        ours = sum(v for k, v in m.cpu.items() if k != "machine")
        return f"{max(0.0, m.cpu['machine'] - ours):.2f}"

    usage = [
        [
            row.label,
            *(cores_or_dash(m, k) for k in ("client", "servers", "postgres")),
            other(m),
            cores_or_dash(m, "machine"),
            ms_per_run(m, "servers"),
            ms_per_run(m, "postgres"),
        ]
        for row, m in results
    ]
    cpu_header = ["cpu (cores busy)", "client", "servers", "postgres", "other", "machine"]
    lines.append(_table([*cpu_header, "servers ms/run", "postgres ms/run"], usage))

    for row, m in results:
        for kind, n in (m.tally.errors + m.tally.warmup_errors).most_common():
            during = m.tally.warmup_errors[kind]
            note = f" ({during} in warm-up)" if during else ""
            lines.append(f"errors {row.label}: {n} x {kind}{note}: {m.tally.samples[kind]}")
        if m.stored != m.tally.ok_total:
            lines.append(
                f"note {row.label}: {m.tally.ok_total} writes answered OK, {m.stored} rows in runs"
            )
    return "\n".join(lines)


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def _options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=_positive(float), default=20.0, help="per row")
    parser.add_argument("--clients", type=_positive(int), default=16)
    parser.add_argument(
        "--workers", type=_positive(int), default=os.cpu_count() or 1, help="uvicorn workers"
    )
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds, per row, not counted")
    parser.add_argument(
        "--database-url",
        help="use this server (a scratch database is created and dropped) instead of an "
        "embedded one",
    )
    parser.add_argument(
        "--pipelines",
        type=_positive(int),
        default=len(PIPELINES),
        help="spread the events over this many pipelines (writes of one pipeline take turns)",
    )
    parser.add_argument("--rows", default="abcd", help="which rows to run, e.g. cd")
    ns = parser.parse_args(argv)
    return Options(
        ns.seconds,
        ns.clients,
        ns.workers,
        max(0.0, ns.warmup),
        ns.database_url,
        pipeline_names(ns.pipelines),
        ns.rows,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM goes the way of Ctrl-C: through SIGINT's handler, which during the HTTP load is
    asyncio.Runner's (a clean cancellation; raising inside a callback could be swallowed by the
    client library), else Python's KeyboardInterrupt."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = _options(argv)
    load_before = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, _interrupt)
    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-", dir="/tmp"))
    try:
        with _database(opts, scratch) as db:
            version = _prepare(db.url, opts.pipelines)
            events = make_events(pipelines=opts.pipelines)
            bench = Bench(
                options=opts,
                db=db,
                scratch=scratch,
                events=events,
                bodies=[json.dumps(e).encode() for e in events],
                token=secrets.token_urlsafe(32),
            )
            results: list[tuple[Row, Measurement]] = []
            for row in (r for r in ROWS if r.key in opts.rows):
                _reset(db.url)
                print(f"running {row.label} ...", file=sys.stderr, flush=True)
                results.append((row, row.run(bench)))
            print(_report(opts, db, version, load_before, results), flush=True)
    except KeyboardInterrupt:  # SIGTERM included
        print("interrupted; everything started was stopped and removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
