"""Daily history cost: full and incremental refresh, and a year of trends for one pipeline.

On the history of bench/summary.py (`--size` runs: 200 pipelines, a year; loaded into a scratch
embedded server, or into `--database-url` when it has no runs yet), measures in one run:

  full refresh         refresh_history(p_full): every day recomputed (the baseline)
  incremental refresh  refresh_history() after 1,000 new runs through ingest_run (median of 3)
  trends (views)       analytics.daily_trends: a year of days for one pipeline
  trends (raw)         the same figures as a GROUP BY over runs (the baseline)

and prints one table with the ratios and the goals (incremental <= 1 s, trends <= 100 ms).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.orm import Session

from analytics.history import daily_trends
from bench.summary import _median_ms, _size, load
from ingest_api import migrate
from ingest_api.db import make_engine
from ingest_api.embedded_pg import EmbeddedPostgres

NEW_RUNS = 1000
PIPELINE = "pipeline-007"

# A thousand runs that finished just now, spread over the pipelines, through the ingest path.
INGEST = """
select count(*) from (
    select ingest_run(
        format('pipeline-%%s', lpad((1 + i %% 200)::text, 3, '0')),
        (array['success', 'success', 'success', 'failure'])[1 + i %% 4]::run_status,
        now() - make_interval(secs => 30 + i %% 90), now(), 30 + i %% 90,
        'main', md5(i::text), 'bench', 'bench-history', %(batch)s || '-' || i, null, null, null
    )
    from generate_series(1, %(count)s) as i
) as ingested
"""

# analytics.daily_trends' figures straight from runs, for the same pipeline and days.
RAW_TRENDS = """
select
    (runs.started_at at time zone 'UTC')::date as day,
    count(*),
    count(*) filter (where runs.status = 'success'),
    count(*) filter (where runs.status = 'failure'),
    avg(runs.duration_sec) filter (where runs.status in ('success', 'failure')),
    percentile_cont(0.5) within group (order by runs.duration_sec)
        filter (where runs.status in ('success', 'failure')),
    percentile_cont(0.95) within group (order by runs.duration_sec)
        filter (where runs.status in ('success', 'failure'))
from runs
join pipelines on pipelines.id = runs.pipeline_id
where pipelines.name = %s
    and runs.started_at >= (now() at time zone 'UTC')::date - 364
group by 1
order by 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="runs to load: 1m, 10m or a count")
    parser.add_argument("--repeat", type=int, default=15, help="calls per trends measurement")
    parser.add_argument(
        "--database-url", help="measure this database (loaded only if it has no runs yet)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-history-"))
    server = None if args.database_url else EmbeddedPostgres(scratch / "data")
    try:
        url = server.start() if server else args.database_url
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            existing = conn.execute("select count(*) from runs").fetchone()
            count = existing[0] if existing and existing[0] else _size(args.size)
            loaded = "an existing history"
            if not (existing and existing[0]):
                load_s, rebuild_s, history_s = load(conn, count)
                loaded = (
                    f"load {load_s:.1f} s, rebuild_rollups {rebuild_s:.1f} s, "
                    f"first full history {history_s:.1f} s"
                )

            def refresh(full: bool) -> float:
                started = time.perf_counter()
                conn.execute("select * from refresh_history(%s, true)", (full,))
                return (time.perf_counter() - started) * 1000

            full_ms = refresh(True)
            incremental, ingest = [], []
            for batch in range(3):
                started = time.perf_counter()
                conn.execute(INGEST, {"batch": f"b{batch}-{time.time_ns()}", "count": NEW_RUNS})
                ingest.append((time.perf_counter() - started) * 1000)
                incremental.append(refresh(False))
            days = conn.execute("select count(*) from history_pipeline_days").fetchone()

        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            trends_ms = _median_ms(lambda: daily_trends(session, pipeline=PIPELINE), args.repeat)
            shown = daily_trends(session, pipeline=PIPELINE)
        engine.dispose()
        with psycopg.connect(url, options="-c jit=off") as conn:
            raw_ms = _median_ms(
                lambda: conn.execute(RAW_TRENDS, (PIPELINE,)).fetchall(),
                max(3, args.repeat // 3),
            )

        inc_ms = statistics.median(incremental)
        print(f"Daily history: {count:,} runs, 200 pipelines, a year; {loaded}")
        pipeline_days = days[0] if days else 0
        print(f"{pipeline_days:,} pipeline-days; trends of {PIPELINE}: {len(shown)} days\n")
        header = f"{'measure':<34} | {'ms':>9} | {'baseline ms':>11} | {'ratio':>7}"
        print(header)
        print("-" * len(header))
        print(f"{'full refresh':<34} | {full_ms:>9.1f} | {'':>11} | {'':>7}")
        print(
            f"{'ingest of 1,000 runs (median of 3)':<34} | {statistics.median(ingest):>9.1f} |"
            f" {'':>11} | {'':>7}"
        )
        print(
            f"{'incremental refresh after them':<34} | {inc_ms:>9.1f} | {full_ms:>11.1f} |"
            f" {full_ms / inc_ms:>6.1f}x"
        )
        print(
            f"{'a year of trends (analytics)':<34} | {trends_ms:>9.1f} | {raw_ms:>11.1f} |"
            f" {raw_ms / trends_ms:>6.1f}x"
        )
        print(f"\nincremental refresh <= 1000 ms: {'PASS' if inc_ms <= 1000 else 'FAIL'}")
        print(f"a year of trends <= 100 ms: {'PASS' if trends_ms <= 100 else 'FAIL'}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
