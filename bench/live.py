"""Live updates under load: latency, coalescing and memory of WS /ws/metrics.

Starts a scratch embedded PostgreSQL outside the checkout and `pulse api` (one process, the
default 250 ms tick) on it. Then, in the same run, two phases with the same ingest load
(`--rate` runs/s for `--seconds`, over `--pipelines` pipelines, through POST /api/events/run):

  10 clients     ten WebSocket clients on /ws/metrics
  1000 clients   `--clients` WebSocket clients (1,000 by default)

and prints one table: latency from each POST's answer to the receipt of the runs_update that
lists the run (p50/p95/p99, over every client that parses its messages: all of them with 10
clients, `--probes` of them with more, so the load client does not become the bottleneck),
summary computations per second (the API's own counter, /api/info), messages delivered per
second (counted by every client) and the API process's peak RSS (VmHWM).

Goals: p95 <= tick + 100 ms; summary computations/s the same at 10 and 1,000 clients;
RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from ingest_api import migrate
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import answers, free_port, serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-live-token-0123456789"
TICK_MS = 250


@dataclass
class Phase:
    name: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    messages: int = 0
    summaries: int = 0
    seconds: float = 0.0
    posted: int = 0
    errors: int = 0


@dataclass
class Probe:
    """What one parsing client saw: run id -> receipt time."""

    seen: dict[int, float] = field(default_factory=dict)


@contextlib.contextmanager
def api_server(url: str, scratch: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`pulse api` (one process, the bench's tick, the per-address caps lifted) on `url`; its
    data dir and log under `scratch`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
    env.update(
        DATABASE_URL=url,
        PULSE_INGEST_TOKEN=TOKEN,
        PULSE_API_WORKERS="1",
        PULSE_DATA_DIR=str(scratch / "data"),
        PULSE_LIVE_TICK_MS=str(TICK_MS),
        # The bench's clients read as fast as they can; a generous queue keeps a client that
        # falls behind for a moment from being closed mid-measurement.
        PULSE_LIVE_QUEUE="256",
        # Every client comes from this one address: past the per-address caps.
        PULSE_WS_MAX_PER_ADDRESS="100000",
        PULSE_MAX_CONNECTIONS_PER_ADDRESS="100000",
        PULSE_RATE_LIMIT_INGEST="off",
    )
    base = f"http://127.0.0.1:{port}"
    with serving(
        [sys.executable, "-m", "ingest_api", "api", "--port", str(port)],
        ready=lambda: answers(f"{base}/health"),
        timeout=60,
        log=scratch / "api.log",
        cwd=ROOT,
        env=env,
        start_new_session=True,
    ) as process:
        yield process, base


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def summaries_computed(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/api/info") as response:
        info = await response.json()
        return int(info["live"]["summaries_computed"])


async def watch(
    session: aiohttp.ClientSession,
    ws_url: str,
    probe: Probe | None,
    counts: list[int],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """One client of `ws_url` until `stop`: counts messages in `counts[0]`; with a probe, notes
    when each run was first listed in a runs_update."""
    async with session.ws_connect(ws_url, max_msg_size=0, autoping=True) as ws:
        first = await ws.receive()
        assert first.type == aiohttp.WSMsgType.TEXT, first
        ready.set()
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=0.5)
            except TimeoutError:
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"socket ended: {message.type} {message.data} {ws.close_code}")
            counts[0] += 1
            if probe is not None and message.data.startswith('{"type":"runs_update"'):
                now = time.monotonic()
                for run in json.loads(message.data)["payload"]:
                    probe.seen.setdefault(run["id"], now)


async def _phase(
    base: str, phase: Phase, probes: int, rate: float, seconds: float, pipelines: int
) -> None:
    ws_url = base.replace("http://", "ws://") + "/ws/metrics?minutes=60"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = asyncio.Event()
        counts = [0]
        readies = [asyncio.Event() for _ in range(phase.clients)]
        watched = [Probe() for _ in range(min(probes, phase.clients))]
        tasks = []
        for i in range(phase.clients):
            probe = watched[i] if i < len(watched) else None
            tasks.append(
                asyncio.create_task(watch(session, ws_url, probe, counts, readies[i], stop))
            )
            if i % 100 == 99:
                await asyncio.sleep(0.05)  # don't overrun the listen backlog
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
        await asyncio.sleep(2 * TICK_MS / 1000)

        answered: dict[int, float] = {}
        before = await summaries_computed(session, base)
        counts[0] = 0
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {TOKEN}"}

        async def post(n: int) -> None:
            body = {
                "pipeline": f"bench-{n % pipelines:02}",
                "status": "success" if n % 5 else "failure",
                "duration_sec": 30 + n % 90,
                "external_id": f"{phase.name}-{n}",
                "source": "bench",
            }
            try:
                async with session.post(
                    f"{base}/api/events/run", json=body, headers=headers
                ) as response:
                    run = await response.json()
                    if response.status == 200:
                        answered[run["id"]] = time.monotonic()
                    else:
                        phase.errors += 1
            except aiohttp.ClientError:
                phase.errors += 1

        posts = []
        total = int(rate * seconds)
        for n in range(total):
            # Paced: the n-th POST leaves at n / rate seconds.
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(post(n)))
        await asyncio.gather(*posts)
        phase.seconds = time.monotonic() - started
        await asyncio.sleep(1 + 2 * TICK_MS / 1000)  # the last tick's messages
        phase.messages = counts[0]
        phase.summaries = await summaries_computed(session, base) - before
        phase.posted = len(answered)
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} clients failed: {failures[0]!r}")
        for probe in watched:
            for run_id, at in answered.items():
                received = probe.seen.get(run_id)
                if received is None:
                    raise RuntimeError(f"a client never heard of run {run_id}")
                phase.latencies_ms.append(max(received - at, 0.0) * 1000)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--probes",
        type=int,
        default=50,
        help="clients that parse messages for latency in the big phase",
    )
    parser.add_argument("--rate", type=float, default=200, help="runs per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--pipelines", type=int, default=20)
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pulse-bench-live-") as tmp:
        scratch = Path(tmp)
        server = EmbeddedPostgres(scratch / "pg")
        url = server.start()
        try:
            migrate.upgrade(url)
            with api_server(url, scratch) as (process, base):
                phases = [
                    Phase("10 clients", 10),
                    Phase(f"{options.clients} clients", options.clients),
                ]
                for phase in phases:
                    asyncio.run(
                        _phase(
                            base,
                            phase,
                            phase.clients if phase.clients <= 10 else options.probes,
                            options.rate,
                            options.seconds,
                            options.pipelines,
                        )
                    )
                rss = _peak_rss_mb(process.pid)
        finally:
            server.stop()

    print(
        f"Live updates: one API process, tick {TICK_MS} ms, {options.rate:.0f} runs/s for "
        f"{options.seconds:.0f} s over {options.pipelines} pipelines; 2 cores shared by "
        "the API, PostgreSQL and the load client"
    )
    print()
    header = (
        f"{'phase':>14} | {'runs':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | "
        f"{'summaries/s':>11} | {'messages/s':>10} | {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for phase in phases:
        lat = phase.latencies_ms
        print(
            f"{phase.name:>14} | {phase.posted:>6} | {statistics.median(lat):>7.1f} | "
            f"{percentile(lat, 0.95):>7.1f} | {percentile(lat, 0.99):>7.1f} | "
            f"{phase.summaries / phase.seconds:>11.2f} | "
            f"{phase.messages / phase.seconds:>10.0f} | {phase.errors:>6}"
        )
    print()
    p95 = percentile(phases[-1].latencies_ms, 0.95)
    ratio = (phases[-1].summaries / phases[-1].seconds) / (phases[0].summaries / phases[0].seconds)
    print(
        f"p95 at {phases[-1].clients} clients: {p95:.0f} ms (goal <= {TICK_MS + 100}: "
        f"{'PASS' if p95 <= TICK_MS + 100 else 'FAIL'})"
    )
    print(
        f"summaries/s {phases[-1].clients} vs 10 clients: {ratio:.2f}x (goal about 1x: "
        f"{'PASS' if 0.8 <= ratio <= 1.25 else 'FAIL'})"
    )
    print(f"API peak RSS: {rss:.0f} MB (goal <= 300: {'PASS' if rss <= 300 else 'FAIL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
