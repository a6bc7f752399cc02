"""Ingest while the API is being abused: idle WebSockets, a slow-loris, a flood without a token.

Starts a scratch embedded PostgreSQL and `pulse api` (`--workers` processes) on it, then in one
run measures the same ingest load (`--rate` runs/s offered by `--clients` clients through
POST /api/events/run for `--seconds`) in each phase:

  quiet            nothing else going on (the baseline)
  idle sockets     `--sockets` WebSocket clients on /ws/metrics watching a pipeline the load
                   never touches (the per-address caps raised, as if from many hosts)
  watching         `--watchers` clients watching everything: each run reaches them all
  one address      `--sockets` attempts from one address under the default caps
  slow-loris       `--loris` connections trickling a header byte every second
  unsigned flood   a client posting webhooks with no signature as fast as it can

and prints one table: runs/s taken and p95 latency of the ingest load (with the ratio to quiet),
the CPU the API (all its processes) and this bench (load client and abusers) spent,
the abusers' connections held at the end of the load, and what the flood was answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.ingest import tree_cpu_seconds
from ingest_api import migrate
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import answers, free_port, serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-abuse-token-0123456789"
API_PID = 0  # the running `pulse api`, whose CPU (its workers' included) each phase reports


Measured = tuple[float, float, int, float, float]  # runs/s, p95 ms, errors, API and bench cores


@dataclass
class Row:
    phase: str
    runs_per_sec: float
    p95_ms: float
    errors: int
    api_cores: float
    bench_cores: float
    held: str
    note: str = ""


@contextlib.contextmanager
def api_server(url: str, scratch: Path, workers: int, **settings: str) -> Iterator[str]:
    global API_PID
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "PULSE_DATA_DIR": str(scratch / "data"),
            "PULSE_INGEST_TOKEN": TOKEN,
            "PULSE_API_WORKERS": str(workers),
            "PULSE_RATE_LIMIT_INGEST": "off",
            **settings,
        }
    )
    base = f"http://127.0.0.1:{port}"
    with serving(
        [sys.executable, "-m", "ingest_api", "api", "--port", str(port)],
        ready=lambda: answers(f"{base}/health"),
        timeout=60,
        log=scratch / f"api-{port}.log",
        env=env,
        cwd=ROOT,
    ) as process:
        API_PID = process.pid
        yield base


async def ingest_load(base: str, opts: argparse.Namespace) -> Measured:
    """Runs/s, p95 ms and errors of `--clients` clients offering `--rate` runs/s in all for
    `--seconds` (each waits for its answer: a slow server gets fewer runs, not a queue)."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    api_before, bench_before = tree_cpu_seconds(API_PID), time.process_time()
    started_at = time.perf_counter()
    interval = opts.clients / opts.rate
    async with aiohttp.ClientSession(
        headers=headers, connector=aiohttp.TCPConnector(limit=opts.clients)
    ) as http:

        async def post_loop(offset: int) -> None:
            nonlocal errors
            due = started_at + offset * interval / opts.clients
            while due < started_at + opts.seconds:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                body = {"pipeline": f"p{offset % 20}", "status": "success", "duration_sec": 5}
                sent = time.perf_counter()
                try:
                    async with http.post(f"{base}/api/events/run", json=body) as answer:
                        await answer.read()
                        ok = answer.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - sent) * 1000)
                else:
                    errors += 1
                due = max(due + interval, time.perf_counter())

        await asyncio.gather(*(post_loop(n) for n in range(opts.clients)))
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 20 else float("nan")
    elapsed = time.perf_counter() - started_at
    return (
        len(latencies) / elapsed,
        p95,
        errors,
        (tree_cpu_seconds(API_PID) - api_before) / elapsed,
        (time.process_time() - bench_before) / elapsed,
    )


@dataclass
class Sockets:
    """Live connections that read (and so answer the server's pings) until closed."""

    session: aiohttp.ClientSession
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def still_open(self) -> int:
        return sum(not socket.closed for socket in self.sockets)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)
        await self.session.close()


async def _read(socket: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in socket:
        pass


async def open_sockets(base: str, count: int, query: str = "") -> Sockets:
    """Open up to `count` WebSockets, a few hundred at a time."""
    opened = Sockets(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))
    gate = asyncio.Semaphore(200)

    async def one() -> None:
        async with gate:
            try:
                socket = await opened.session.ws_connect(
                    base.replace("http", "ws", 1) + "/ws/metrics" + query,
                    heartbeat=None,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=30, ws_close=5),
                )
                await socket.receive(timeout=30)
            except aiohttp.WSServerHandshakeError as exc:
                opened.outcomes[f"refused {exc.status}"] += 1
                return
            except (aiohttp.ClientError, TimeoutError, OSError):
                opened.outcomes["failed"] += 1
                return
            opened.sockets.append(socket)
            opened.readers.append(asyncio.create_task(_read(socket)))

    await asyncio.gather(*(one() for _ in range(count)))
    return opened


async def slow_loris(base: str, count: int, stop: asyncio.Event, held: Counter[str]) -> None:
    host, port = base.removeprefix("http://").split(":")

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            held["refused"] += 1
            return
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: pulse\r\nX-Slow: ")
            held["open"] += 1
            while not stop.is_set():
                await asyncio.sleep(1)
                writer.write(b"a")
                await writer.drain()
                if reader.at_eof():
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            held["open"] -= 1
            if not stop.is_set():
                held["cut off"] += 1
            writer.close()

    await asyncio.gather(*(one() for _ in range(count)))


async def unsigned_flood(base: str, stop: asyncio.Event, answers_seen: Counter[int]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            try:
                async with http.post(f"{base}/api/webhooks/github", data=b"{}") as answer:
                    answers_seen[answer.status] += 1
            except aiohttp.ClientError:
                answers_seen[0] += 1


async def during(
    abuse: Callable[[asyncio.Event], Awaitable[None]],
    base: str,
    opts: argparse.Namespace,
    snapshot: Callable[[], None] = lambda: None,
) -> Measured:
    """The ingest load while `abuse` runs (given a head start of two seconds), and what
    `abuse` reports at the end of the load, before it is stopped."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(abuse(stop))
    await asyncio.sleep(2)
    measured = await ingest_load(base, opts)
    snapshot()
    stop.set()
    await task
    return measured


async def phases(url: str, scratch: Path, opts: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    many = str(opts.sockets * 2)
    with api_server(
        url,
        scratch,
        opts.workers,
        PULSE_WS_MAX_PER_ADDRESS=many,
        PULSE_MAX_CONNECTIONS_PER_ADDRESS=many,
        PULSE_HEADERS_TIMEOUT_SEC="10",
    ) as base:
        await ingest_load(base, argparse.Namespace(**{**vars(opts), "seconds": 2}))  # warm-up
        measured = await ingest_load(base, opts)
        rows.append(Row("quiet", *measured, "-"))

        # Idle: watching a pipeline the load never touches, so nothing is sent to them.
        idle = await open_sockets(base, opts.sockets, "?pipeline=elsewhere")
        measured = await ingest_load(base, opts)
        rows.append(Row("idle sockets", *measured, f"{idle.still_open:,} open"))
        await idle.close()
        # Watching: every run changes what they see, so each tick sends each two messages.
        watching = await open_sockets(base, opts.watchers)
        measured = await ingest_load(base, opts)
        rows.append(
            Row(
                "watching",
                *measured,
                f"{watching.still_open:,} open",
                "each gets runs_update + metrics_update every tick",
            )
        )
        await watching.close()
        if opts.sockets_only:
            return rows

        held: Counter[str] = Counter()

        async def loris(stop: asyncio.Event) -> None:
            await slow_loris(base, opts.loris, stop, held)

        seen: dict[str, int] = {}
        measured = await during(loris, base, opts, lambda: seen.update(held))
        rows.append(
            Row(
                "slow-loris",
                *measured,
                f"{seen.get('open', 0):,} of {opts.loris:,}",
                f"{seen.get('cut off', 0):,} cut off by the 10 s header deadline",
            )
        )
    with api_server(url, scratch, opts.workers) as base:
        capped = await open_sockets(base, opts.sockets)
        measured = await ingest_load(base, opts)
        got = ", ".join(f"{n:,} {what}" for what, n in sorted(capped.outcomes.items()))
        rows.append(Row("one address", *measured, f"{capped.still_open:,} open", got))
        await capped.close()

        flood: Counter[int] = Counter()

        async def unsigned(stop: asyncio.Event) -> None:
            await unsigned_flood(base, stop, flood)

        measured = await during(unsigned, base, opts)
        answered = ", ".join(f"{n:,} x {status}" for status, n in sorted(flood.items()))
        rows.append(Row("unsigned flood", *measured, "-", answered))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100, help="runs/s offered in all")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--sockets", type=int, default=10_000, help="idle live connections")
    parser.add_argument(
        "--watchers", type=int, default=1_000, help="live connections watching what changes"
    )
    parser.add_argument("--loris", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--sockets-only", action="store_true", help="the quiet and idle-socket phases only"
    )
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pulse-bench-abuse-") as tmp:
        scratch = Path(tmp)
        server = EmbeddedPostgres(scratch / "pg")
        url = server.start()
        try:
            migrate.upgrade(url)
            rows = asyncio.run(phases(url, scratch, opts))
        finally:
            server.stop()
    quiet = rows[0].runs_per_sec
    print(
        f"Ingest under abuse: {opts.rate:g} runs/s offered by {opts.clients} clients for "
        f"{opts.seconds:g} s a phase, "
        f"`pulse api` with {opts.workers} workers, {os.cpu_count()} cores\n"
    )
    header = (
        f"{'phase':<15} | {'runs/s':>7} | {'vs quiet':>8} | {'p95 ms':>7} | {'errors':>6} | "
        f"{'API cores':>9} | {'bench cores':>11} | {'held':<14} | note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.phase:<15} | {row.runs_per_sec:>7.0f} | {row.runs_per_sec / quiet:>7.2f}x | "
            f"{row.p95_ms:>7.1f} | {row.errors:>6} | {row.api_cores:>9.2f} | "
            f"{row.bench_cores:>11.2f} | {row.held:<14} | {row.note}"
        )


if __name__ == "__main__":
    main()
