"""Bulk history: `pulse import` against the per-event path, in the same run.

Writes `--size` runs (200 pipelines, a year of history, JSON lines as POST /api/events/run
takes them) to a file outside the checkout, then on a scratch embedded PostgreSQL server:

  validate only   the file read and validated with RunEvent, nothing sent (the Python floor)
  import          `pulse import`'s path (ingest_api/runs/bulk.py), timed per step, end to end
  per event       a sample (`--sample`) of the same runs through ingest_run one by one, in one
                  transaction, triggers on: what loading history through the ingest path costs

Prints one table of runs/s; removes the server and the file at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ingest_api import migrate
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.runs import bulk
from ingest_api.runs.service import INGEST_SQL


def write_history(path: Path, count: int, now: datetime) -> None:
    rng = random.Random(1)
    with path.open("w") as out:
        for n in range(count):
            p = rng.randrange(200)
            duration = round(math.exp(3.4 + (p % 37) / 12 + 0.3 * rng.gauss(0, 1)), 3)
            started = now - timedelta(seconds=rng.uniform(3600, 365 * 86400))
            roll = rng.random()
            status = (
                "success"
                if roll < 0.74
                else "failure"
                if roll < 0.95
                else "cancelled"
                if roll < 0.98
                else "skipped"
            )
            body = {
                "pipeline": f"pipeline-{p:03d}",
                "status": status,
                "started_at": started.isoformat().replace("+00:00", "Z"),
                "finished_at": (started + timedelta(seconds=duration))
                .isoformat()
                .replace("+00:00", "Z"),
                "duration_sec": duration,
                "branch": "main" if rng.random() < 0.6 else f"feature-{p % 3}",
                "commit": f"{rng.getrandbits(160):040x}",
                "triggered_by": "octocat",
                "source": "bench",
                "external_id": str(n),
            }
            out.write(json.dumps(body) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000, help="runs to import")
    parser.add_argument("--sample", type=int, default=2_000, help="runs through ingest_run")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scratch = Path(tempfile.mkdtemp(prefix="pulse-bench-bulk-"))
    server = EmbeddedPostgres(scratch / "data")
    try:
        url = server.start()
        migrate.upgrade(url)
        path = scratch / "history.jsonl"
        write_history(path, args.size, datetime.now(UTC))

        started = time.perf_counter()
        with path.open("rb") as stream:
            for _ in bulk.read_events(stream, bulk.FileFormat.jsonl):
                pass
        validate_s = time.perf_counter() - started

        with psycopg.connect(url, autocommit=True, options="-c jit=off") as conn:
            started = time.perf_counter()
            with path.open("rb") as stream:
                result = bulk.import_runs(conn, bulk.read_events(stream, bulk.FileFormat.jsonl))
            import_s = time.perf_counter() - started

            sample: list[dict[str, Any]] = []
            with path.open("rb") as stream:
                for _, event in bulk.read_events(stream, bulk.FileFormat.jsonl):
                    if len(sample) == args.sample:
                        break
                    assert not isinstance(event, list)
                    params = event.model_dump()
                    params["source"] = "bench-per-event"
                    sample.append(params)
            started = time.perf_counter()
            with conn.transaction():
                for params in sample:
                    conn.execute(INGEST_SQL, params)
            per_event_s = time.perf_counter() - started

        print(f"Bulk history: {args.size:,} runs, 200 pipelines, a year; 2 cores, noisy")
        print(f"{'step':<30} | {'seconds':>8} | {'runs/s':>9}")
        print("-" * 53)
        rate = args.size / validate_s
        print(f"{'validate only (RunEvent)':<30} | {validate_s:>8.1f} | {rate:>9,.0f}")
        for step, seconds in result.seconds.items():
            print(f"{'import: ' + step:<30} | {seconds:>8.1f} | {args.size / seconds:>9,.0f}")
        print(f"{'import, end to end':<30} | {import_s:>8.1f} | {args.size / import_s:>9,.0f}")
        print(
            f"{f'per event ({len(sample):,} runs)':<30} | {per_event_s:>8.1f} | "
            f"{len(sample) / per_event_s:>9,.0f}"
        )
        print(f"import / per event = {(args.size / import_s) / (len(sample) / per_event_s):.1f}x")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
