"""Live and summary cost at scale: does the cost follow what changed, or what is stored?

For each scenario, a database of that history (bulk-loaded as bench/summary.py does: a year of
runs over N pipelines, rollups rebuilt) on a scratch embedded PostgreSQL outside the checkout,
and `pulse api` (one process, the 250 ms tick) on it:

  16 WebSocket clients, one per distinct subscription (windows from 1 h to a year; some with
  `pipeline=` or `branch=main`), while `--rate` runs/s (20) go through POST /api/events/run
  (token auth) over the scenario's pipelines for `--seconds`, after `--warmup` seconds unmeasured.

Scenarios: each `--history` size over the first `--pipelines` count, and each other
`--pipelines` count with the first history size (10k/200 is the baseline, measured in the same
run; 1m/200 and 10k/1000 by default). `--database-url` adds one more: that database as it is
(loaded already, e.g. a 10m history; the bench adds its own runs to it, source `bench-scale`).
The largest history is measured a second time with no WebSocket client (`ingest`): the write
path's own cost, which counts against the same 0.3-core goal and no live design can save.

Prints one table: API CPU (cores, the `pulse api` process tree, from /proc) and PostgreSQL CPU
(the server's process tree; n/a when the server is not on this machine), summaries computed per
second (the API's own counter, /api/info), p50/p95 latency from each POST's answer to the
runs_update that lists it (over the clients whose subscription has no filter), then the median
of GET /api/metrics/summary for 1 h, 24 h, 30 d and 365 d: `w` a window someone watches,
`u` the same window one minute shorter, which nobody watches. Then the ratios to the baseline
and issue 19's goal lines.

Time: loading 1M runs takes a few minutes on 2 cores (10k and 1,000 pipelines, seconds); each
scenario then takes about `--warmup` + `--seconds` + 20 s. The default run is ~10 minutes on a
quiet 2-core machine; the numbers are noisy when anything else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import psycopg
from sqlalchemy import make_url

from bench.ingest import tree_cpu_seconds
from bench.live import TICK_MS, TOKEN, Probe, api_server, percentile, summaries_computed, watch
from bench.summary import _size, load
from ingest_api import migrate
from ingest_api.db import libpq_url
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import proc_stat

GOAL_CORES = 0.3
GOAL_HISTORY_RATIO = 1.5
GOAL_PIPELINES_RATIO = 2.0
GOAL_SHORT_MS = 10.0  # windows up to a day
GOAL_LONG_MS = 15.0  # 30 days and a year
SUMMARY_WINDOWS = (("1h", 60), ("24h", 1440), ("30d", 43200), ("365d", 525600))
STATUSES = ("success",) * 14 + ("failure",) * 4 + ("cancelled", "skipped")


def subscriptions(first: str, second: str) -> list[dict[str, str | int]]:
    """16 distinct subscriptions: windows from an hour to a year, unfiltered, on branch main,
    on one pipeline, on a pipeline's main branch."""
    plain: list[dict[str, str | int]] = [
        {"minutes": m} for m in (60, 180, 1440, 10080, 43200, 525600)
    ]
    main: list[dict[str, str | int]] = [
        {"minutes": m, "branch": "main"} for m in (60, 1440, 10080, 43200, 525600)
    ]
    one: list[dict[str, str | int]] = [
        {"minutes": m, "pipeline": first} for m in (60, 1440, 43200, 525600)
    ]
    return [*plain, *main, *one, {"minutes": 1440, "pipeline": second, "branch": "main"}]


@dataclass
class Scenario:
    label: str
    runs: int
    pipelines: int
    url: str = ""
    postmaster: int | None = None
    load_s: float = 0.0
    watched: bool = True  # False: the same ingest with no WebSocket client (the floor)


@dataclass
class Result:
    scenario: Scenario
    api_cores: float = 0.0
    pg_cores: float | None = None
    summaries_per_sec: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    posted: int = 0
    errors: int = 0
    summary_ms: dict[str, float] = field(default_factory=dict)  # "1h w" -> median ms

    @property
    def cores(self) -> float | None:
        return None if self.pg_cores is None else self.api_cores + self.pg_cores


def _with_database(url: str, name: str) -> str:
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


def _postmaster_of(url: str) -> int | None:
    """The server's root pid, when it runs on this machine: the parent of our backend."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("select pg_backend_pid()").fetchone()
    fields = proc_stat(int(row[0])) if row else None
    return int(fields[1]) if fields else None


def _pipeline_names(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [name for (name,) in conn.execute("select name from pipelines order by name")]


async def _median_get(http: aiohttp.ClientSession, url: str, repeat: int) -> float:
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        async with http.get(url) as response:
            await response.read()
            response.raise_for_status()
        if attempt:  # the first warms caches and plans
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _measure(base: str, api_pid: int, result: Result, opts: argparse.Namespace) -> None:
    names = _pipeline_names(result.scenario.url)
    ws_base = base.replace("http://", "ws://") + "/ws/metrics?"
    subs = subscriptions(names[0], names[1 % len(names)]) if result.scenario.watched else []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        stop = asyncio.Event()
        counts = [0]
        readies = [asyncio.Event() for _ in subs]
        probes = {i: Probe() for i, sub in enumerate(subs) if set(sub) == {"minutes"}}
        clients = [
            asyncio.create_task(
                watch(http, ws_base + urlencode(sub), probes.get(i), counts, readies[i], stop)
            )
            for i, sub in enumerate(subs)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=300)
        await asyncio.sleep(2 * TICK_MS / 1000)

        headers = {"Authorization": f"Bearer {TOKEN}"}
        answered: dict[int, float] = {}
        label = result.scenario.label

        async def post(n: int, measured: bool) -> None:
            body = {
                "pipeline": names[(n * 7919) % len(names)],
                "status": STATUSES[n % len(STATUSES)],
                "duration_sec": 30 + n % 90,
                "branch": "main" if n % 5 < 3 else "feature-1",
                "commit": f"{n:040x}",
                "triggered_by": "bench",
                "external_id": f"scale-{label}-{time.time_ns()}-{n}",
                "source": "bench-scale",
            }
            try:
                async with http.post(f"{base}/api/events/run", json=body, headers=headers) as r:
                    run = await r.json()
                    if r.status != 200:
                        result.errors += 1
                    elif measured:
                        answered[run["id"]] = time.monotonic()
            except aiohttp.ClientError:
                result.errors += 1

        posts = []
        warmup = int(opts.rate * opts.warmup)
        total = warmup + int(opts.rate * opts.seconds)
        started = time.monotonic()
        postmaster = result.scenario.postmaster
        before: tuple[float, float, int, float] | None = None
        for n in range(total):
            if n == warmup:
                before = (
                    tree_cpu_seconds(api_pid),
                    tree_cpu_seconds(postmaster) if postmaster else 0.0,
                    await summaries_computed(http, base),
                    time.monotonic(),
                )
            delay = started + n / opts.rate - time.monotonic()  # the n-th POST leaves at n/rate
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(post(n, n >= warmup)))
        await asyncio.gather(*posts)
        assert before is not None
        elapsed = time.monotonic() - before[3]
        result.api_cores = (tree_cpu_seconds(api_pid) - before[0]) / elapsed
        if postmaster:
            result.pg_cores = (tree_cpu_seconds(postmaster) - before[1]) / elapsed
        result.summaries_per_sec = (await summaries_computed(http, base) - before[2]) / elapsed
        result.posted = len(answered)
        await asyncio.sleep(1 + 2 * TICK_MS / 1000)  # the last tick's messages

        # Quiet now; the clients stay, so the `w` windows are watched while they are read.
        for name, minutes in SUMMARY_WINDOWS:
            for tag, m in (("w", minutes), ("u", minutes - 1)):
                url = f"{base}/api/metrics/summary?minutes={m}"
                result.summary_ms[f"{name} {tag}"] = await _median_get(http, url, opts.repeat)

        stop.set()
        outcomes = await asyncio.gather(*clients, return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} clients failed: {failures[0]!r}")
        for probe in probes.values():
            for run_id, at in answered.items():
                received = probe.seen.get(run_id)
                if received is None:
                    raise RuntimeError(f"a client never heard of run {run_id}")
                result.latencies_ms.append(max(received - at, 0.0) * 1000)


def run_scenario(scenario: Scenario, scratch: Path, opts: argparse.Namespace) -> Result:
    result = Result(scenario)
    scratch.mkdir(parents=True, exist_ok=True)
    with api_server(scenario.url, scratch) as (process, base):
        asyncio.run(_measure(base, process.pid, result, opts))
    return result


def _cell(value: float | None, width: int, fmt: str = ".2f") -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{fmt}}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: list[Result], opts: argparse.Namespace) -> str:
    lines = [
        f"Scale: 16 distinct subscriptions (one client each), {opts.rate:g} runs/s through "
        f"POST /api/events/run for {opts.seconds:g} s (after {opts.warmup:g} s of warm-up); "
        f"one `pulse api` process, tick {TICK_MS} ms; GET /api/metrics/summary: median of "
        f"{opts.repeat}, w = watched, u = a minute shorter, unwatched; 2 cores shared by the API, "
        "PostgreSQL and this load client",
        "",
    ]
    heads = [f"{name} {tag}" for name, _ in SUMMARY_WINDOWS for tag in ("w", "u")]
    header = (
        f"{'scenario':>14} | {'API core':>8} | {'PG core':>7} | {'sum/s':>6} | {'p50 ms':>6} | "
        f"{'p95 ms':>6} | " + " | ".join(f"{h:>6}" for h in heads)
    )
    lines += [header, "-" * len(header)]
    for r in results:
        lat = r.latencies_ms
        lines.append(
            f"{r.scenario.label:>14} | {r.api_cores:>8.3f} | {_cell(r.pg_cores, 7, '.3f')} | "
            f"{r.summaries_per_sec:>6.2f} | "
            f"{_cell(statistics.median(lat) if lat else None, 6, '.0f')} | "
            f"{_cell(percentile(lat, 0.95) if lat else None, 6, '.0f')} | "
            + " | ".join(f"{r.summary_ms[h]:>6.1f}" for h in heads)
        )
    lines.append("")
    for r in results:
        s = r.scenario
        loaded = f", loaded in {s.load_s:.0f} s" if s.load_s else ""
        lines.append(
            f"{s.label}: {s.runs:,} runs over {s.pipelines:,} pipelines{loaded}; "
            f"{r.posted} runs posted in the measured window, {r.errors} errors"
        )
    lines.append("")
    base = results[0]
    floors = {
        (r.scenario.runs, r.scenario.pipelines): r.cores
        for r in results
        if not r.scenario.watched and r.cores is not None
    }
    for r in results:
        cores = r.cores
        if not r.scenario.watched:
            lines.append(
                f"{r.scenario.label}: API + PostgreSQL {_cell(cores, 5, '.3f').strip()} cores for "
                "the ingest alone, no viewer: the write path's own share of the goal"
            )
            continue
        floor = floors.get((r.scenario.runs, r.scenario.pipelines))
        lines.append(
            f"{r.scenario.label}: API + PostgreSQL "
            + (
                f"{cores:.3f} cores (goal <= {GOAL_CORES}: {_verdict(cores <= GOAL_CORES)})"
                if cores is not None
                else "n/a (the server is not on this machine)"
            )
            + (
                f"; live updates {cores - floor:.3f} over the ingest alone"
                if cores is not None and floor is not None
                else ""
            )
        )
        if r is not base and cores is not None and base.cores:
            ratio = cores / base.cores
            if r.scenario.pipelines == base.scenario.pipelines:
                goal, what = GOAL_HISTORY_RATIO, "history"
            else:
                goal, what = GOAL_PIPELINES_RATIO, "pipelines"
            lines.append(
                f"  vs {base.scenario.label}: {ratio:.2f}x (goal, {what}: <= {goal:g}x: "
                f"{_verdict(ratio <= goal)})"
            )
        if r.latencies_ms:
            p95 = percentile(r.latencies_ms, 0.95)
            lines.append(
                f"  p95 POST -> runs_update {p95:.0f} ms (goal <= {TICK_MS + 100}: "
                f"{_verdict(p95 <= TICK_MS + 100)})"
            )
        short = max(r.summary_ms[f"{n} {t}"] for n in ("1h", "24h") for t in ("w", "u"))
        long = max(r.summary_ms[f"{n} {t}"] for n in ("30d", "365d") for t in ("w", "u"))
        lines.append(
            f"  summary medians: up to a day {short:.1f} ms (goal <= {GOAL_SHORT_MS:g}: "
            f"{_verdict(short <= GOAL_SHORT_MS)}), 30 d and a year {long:.1f} ms "
            f"(goal <= {GOAL_LONG_MS:g}: {_verdict(long <= GOAL_LONG_MS)})"
        )
    return "\n".join(lines)


def _label(runs: int, pipelines: int) -> str:
    size = f"{runs / 1_000_000:.3g}m" if runs >= 1_000_000 else f"{runs // 1000}k"
    return f"{size if runs >= 1000 else runs}/{pipelines}"


def scenarios_of(opts: argparse.Namespace) -> list[tuple[int, int]]:
    histories = [_size(v) for v in opts.history.split(",") if v.strip()]
    pipelines = [int(v) for v in opts.pipelines.split(",") if v.strip()]
    wanted = [(h, pipelines[0]) for h in histories] + [(histories[0], p) for p in pipelines[1:]]
    return list(dict.fromkeys(wanted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", default="10k,1m", help="runs per scenario: 10k,1m, ...")
    parser.add_argument("--pipelines", default="200,1000", help="pipeline counts: 200,1000")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds of load")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first")
    parser.add_argument("--rate", type=float, default=20, help="runs per second")
    parser.add_argument("--repeat", type=int, default=15, help="GETs per summary median")
    parser.add_argument(
        "--database-url",
        help="also measure this database as it is (a loaded history; the bench adds its runs)",
    )
    opts = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the scratch server and its files are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-scale-"))
    server = EmbeddedPostgres(scratch / "pg")
    results: list[Result] = []
    try:
        admin = server.start()
        wanted = scenarios_of(opts)
        floor_of = (max(runs for runs, _ in wanted), wanted[0][1])
        for i, (runs, pipelines) in enumerate(wanted):
            name = f"scale_{i}"
            scenario = Scenario(_label(runs, pipelines), runs, pipelines, postmaster=server.pid)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"create database {name}")
            scenario.url = _with_database(admin, name)
            migrate.upgrade(scenario.url)
            with psycopg.connect(scenario.url, autocommit=True) as conn:
                scenario.load_s = sum(load(conn, runs, pipelines))
            print(f"{scenario.label}: loaded in {scenario.load_s:.0f} s", file=sys.stderr)
            results.append(run_scenario(scenario, scratch / name, opts))
            if (runs, pipelines) == floor_of:
                # The same ingest with nobody watching: what no live design can save.
                quiet = replace(scenario, label=f"{scenario.label} ingest", watched=False)
                results.append(run_scenario(quiet, scratch / f"{name}_ingest", opts))
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"drop database {name} with (force)")
        if opts.database_url:
            url = libpq_url(opts.database_url)
            migrate.upgrade(url)
            with psycopg.connect(url, autocommit=True) as conn:
                counts = conn.execute(
                    "select (select count(*) from runs), (select count(*) from pipelines)"
                ).fetchone()
            assert counts is not None
            given = Scenario(
                f"given {_label(counts[0], counts[1])}",
                counts[0],
                counts[1],
                url=url,
                postmaster=_postmaster_of(url),
            )
            results.append(run_scenario(given, scratch / "given", opts))
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(report(results, opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
