"""Summary cost against history size: rollups versus a raw GROUP BY over runs.

Loads `--size` runs (1m by default; 10m, or any count such as 200k) into a scratch embedded
PostgreSQL server outside the checkout, with the rollup triggers off (server-side
generate_series: 200 pipelines, 1-4 branches each, a year of history, per-pipeline log-normal
durations), then rebuilds the rollups (`rebuild_rollups`, timed). Then, in the same run, for
windows of 60, 1440, 43200 and 525600 minutes, the median of `--repeat` calls of:

  first     the first GET /api/metrics/summary of that window through `pulse api` (one
            worker), health included: answered afresh while the API makes, on the side, the
            summary it then keeps for the window
  api       the GETs after it: mostly the kept summary brought up to date (nothing changes
            meanwhile); those sent while it is still being made are answered afresh
  api main  the same with branch=main (every pipeline has a main branch), after its first
  sql       run_summary(minutes) - the rollup query the API runs, without HTTP and health
  raw       the same figures as a GROUP BY over runs with its best index (run_summary_raw.sql)

and the ratio raw / sql. Prints one table; removes the scratch server at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from analytics.models import EXACT_PERCENTILES_UP_TO
from ingest_api import migrate
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import answers, free_port, serving

RAW_SUMMARY = Path(__file__).resolve().parent / "run_summary_raw.sql"

WINDOWS = (60, 1440, 43200, 525600)
SIZES = {"1m": 1_000_000, "10m": 10_000_000}

LOAD = """
insert into pipelines (name)
select format('pipeline-%s', lpad(i::text, greatest(3, length('%(pipelines)s')), '0'))
from generate_series(1, %(pipelines)s) as i;

insert into runs (
    pipeline_id, status, started_at, finished_at, duration_sec, branch, commit, triggered_by,
    source, external_id
)
select
    p,
    status,
    started_at,
    started_at + make_interval(secs => duration),
    duration,
    branch,
    md5(n::text) || substr(md5(p::text), 1, 8),
    (array['octocat', 'hubot', 'monalisa', 'dependabot[bot]'])[1 + n % 4],
    'bench',
    n::text
from (
    select
        n,
        p,
        now() - interval '1 minute' - random() * interval '365 days' as started_at,
        round((exp(3.4 + (p % 37) / 12.0 + (0.25 + (p % 7) / 20.0)
            * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::numeric, 3)::float8
            as duration,
        case
            when roll < 0.74 then 'success'
            when roll < 0.95 then 'failure'
            when roll < 0.98 then 'cancelled'
            else 'skipped'
        end::run_status as status,
        case when random() < 0.6 or p % 4 = 0 then 'main'
            else format('feature-%s', 1 + (n % (1 + p % 3))) end as branch
    from (
        select n, (1 + (n * 7919) % %(pipelines)s)::integer as p, random() as roll
        from generate_series(1::bigint, %(count)s) as n
    ) as drawn
) as runs_to_be
"""


def load(
    conn: psycopg.Connection[Any], count: int, pipelines: int = 200
) -> tuple[float, float, float]:
    """Bulk-load `count` runs over `pipelines` pipelines (pipeline-001, ...) with the triggers
    off, then rebuild the rollups and the daily history as `pulse rebuild-rollups` and
    `pulse refresh --full` do. Returns the seconds each of the three steps took."""
    conn.execute("alter table runs disable trigger user")
    conn.execute("alter table recoveries disable trigger recoveries_mark_history")
    started = time.perf_counter()
    conn.execute(
        LOAD.replace("%(count)s", str(int(count))).replace("%(pipelines)s", str(int(pipelines)))
    )
    load_s = time.perf_counter() - started
    conn.execute("alter table runs enable trigger runs_keep_totals")
    conn.execute("vacuum analyze runs")
    started = time.perf_counter()
    for (pipeline_id,) in conn.execute("select id from pipelines").fetchall():
        conn.execute("select rebuild_rollups(%s)", (pipeline_id,))
    rebuild_s = time.perf_counter() - started
    conn.execute("alter table runs enable trigger user")
    conn.execute("alter table recoveries enable trigger recoveries_mark_history")
    started = time.perf_counter()
    conn.execute("select * from refresh_history(p_full => true, p_wait => true)")
    history_s = time.perf_counter() - started
    conn.execute("vacuum analyze")
    return load_s, rebuild_s, history_s


def _once_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm caches and plans
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _size(value: str) -> int:
    if value.lower() in SIZES:
        return SIZES[value.lower()]
    multiplier = {"k": 1_000, "m": 1_000_000}.get(value[-1:].lower(), 1)
    return int(float(value.rstrip("kKmM")) * multiplier)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="runs to load: 1m, 10m or a count")
    parser.add_argument("--repeat", type=int, default=15, help="calls per measurement")
    parser.add_argument(
        "--database-url",
        help="measure this database instead of a scratch one: its history is loaded only if it "
        "has no runs yet (a loaded 10m history takes a quarter of an hour to make)",
    )
    args = parser.parse_args()
    count = _size(args.size)
    # SIGTERM unwinds like Ctrl-C, so the scratch server and its files are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-summary-"))
    server = None if args.database_url else EmbeddedPostgres(scratch / "data")
    try:
        url = server.start() if server else args.database_url
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("show server_version").fetchone()
            existing = conn.execute("select count(*) from runs").fetchone()
            load_s = rebuild_s = 0.0
            if existing and existing[0]:
                count = existing[0]
            else:
                load_s, rebuild_s, _ = load(conn, count)
            conn.execute(RAW_SUMMARY.read_text())
            rollup_rows = conn.execute(
                "select (select count(*) from pipeline_hour_totals)"
                " + (select count(*) from branch_hour_totals)"
            ).fetchone()

        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PULSE_DATA_DIR": str(scratch),
            "PULSE_INGEST_TOKEN": "bench-token-not-secret",
        }
        base = f"http://127.0.0.1:{port}"
        with (
            serving(
                [sys.executable, "-m", "ingest_api", "api", "--port", str(port), "--workers", "1"],
                ready=lambda: answers(f"{base}/health"),
                timeout=120,
                interval=0.2,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            print(f"Summary cost: {count:,} runs, 200 pipelines, a year of history")
            print(
                f"PostgreSQL {version[0] if version else '?'}; "
                + (
                    f"load {load_s:.1f} s (triggers off), rebuild_rollups {rebuild_s:.1f} s, "
                    if load_s
                    else "an existing history, "
                )
                + f"{rollup_rows[0] if rollup_rows else 0:,} running-total rows; "
                f"{os.cpu_count()} cores; "
                f"median of {args.repeat} calls\n"
            )
            header = (
                f"{'minutes':>8} | {'first ms':>8} | {'api ms':>8} | {'api main':>8} | "
                f"{'sql ms':>8} | "
                f"{'raw ms':>8} | {'raw/sql':>8}"
            )
            print(header)
            print("-" * len(header))
            # As the API connects (see ingest_api/db.py), for both sql and raw.
            with psycopg.connect(
                url, autocommit=True, options="-c jit=off -c plan_cache_mode=force_custom_plan"
            ) as conn:
                for minutes in WINDOWS:

                    def via_api(m: int = minutes, branch: str | None = None) -> object:
                        params: dict[str, str | int] = {"minutes": m}
                        if branch is not None:
                            params["branch"] = branch
                        return client.get("/api/metrics/summary", params=params).raise_for_status()

                    def via_sql(m: int = minutes, raw: bool = False) -> object:
                        if raw:
                            query = "select * from run_summary_raw(%s)"
                            return conn.execute(query, (m,)).fetchall()
                        query = "select * from run_summary(%s, null, null, %s)"
                        return conn.execute(query, (m, EXACT_PERCENTILES_UP_TO)).fetchall()

                    first_ms = _once_ms(via_api)
                    api_ms = _median_ms(via_api, args.repeat)
                    main_ms = _median_ms(lambda: via_api(branch="main"), args.repeat)
                    sql_ms = _median_ms(via_sql, args.repeat)
                    raw_ms = _median_ms(lambda: via_sql(raw=True), max(3, args.repeat // 3))
                    print(
                        f"{minutes:>8} | {first_ms:>8.1f} | {api_ms:>8.1f} | {main_ms:>8.1f} | "
                        f"{sql_ms:>8.1f} | "
                        f"{raw_ms:>8.1f} | "
                        f"{raw_ms / sql_ms:>7.1f}x"
                    )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
