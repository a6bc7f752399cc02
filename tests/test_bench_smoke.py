"""A seconds-long run of `python -m bench.ingest`: it runs end to end and prints its report.

No timing assertions: the machine is shared and noisy; `make bench` is where numbers come from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TABLE_ROW = re.compile(
    r"^\((?P<key>[abcd])\) [\w, ]+?\s+(?P<requests>\d+)\s+(?P<rate>\d+)"
    r"(?:\s+\d+\.\d+){3}\s+(?P<errors>\d+)$",
    re.MULTILINE,
)


class TestBenchIngest:
    def test_smoke_run_prints_every_row_and_the_ratios(self) -> None:
        args = ["--seconds", "1", "--clients", "2", "--workers", "1"]
        # On an external test server the bench makes (and drops) a scratch database of its own.
        if url := os.environ.get("TEST_DATABASE_URL"):
            args += ["--database-url", url]
        env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PULSE_INGEST_TOKEN"}
        }
        result = subprocess.run(
            [sys.executable, "-m", "bench.ingest", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output

        rows = {m["key"]: m for m in TABLE_ROW.finditer(result.stdout)}
        assert sorted(rows) == ["a", "b", "c", "d"], output
        for row in rows.values():
            assert int(row["requests"]) > 0, output
            assert int(row["rate"]) > 0, output
            assert int(row["errors"]) == 0, output
        assert re.search(r"^c/b = \d+\.\d+ .*c/a = \d+\.\d+", result.stdout, re.MULTILINE), output
        assert re.search(r"^goal: c >= 0\.6 x b: (PASS|FAIL)$", result.stdout, re.MULTILINE), output
        assert re.search(r"^rollup triggers cost -?\d+ %", result.stdout, re.MULTILINE), output


def test_summary_bench_smoke() -> None:
    """`python -m bench.summary` on a tiny history prints a row per window, rollups and raw."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.summary", "--size", "3000", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3,000 runs" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [int(line.split("|")[0]) for line in rows] == [60, 1440, 43200, 525600]
    assert all(line.rstrip().endswith("x") for line in rows)


LIVE_ROW = re.compile(
    r"^\s+(?P<clients>\d+) clients \|\s+(?P<runs>\d+) \|(?:\s+\d+\.\d \|){3}"
    r"\s+(?P<summaries>\d+\.\d\d) \|\s+(?P<messages>\d+) \|\s+(?P<errors>\d+)$",
    re.MULTILINE,
)


class TestBenchLive:
    def test_smoke_run_prints_both_phases_and_the_goals(self) -> None:
        args = ["--clients", "20", "--probes", "5", "--seconds", "2", "--rate", "20"]
        result = subprocess.run(
            [sys.executable, "-m", "bench.live", *args],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        rows = {int(m["clients"]): m for m in LIVE_ROW.finditer(result.stdout)}
        assert sorted(rows) == [10, 20], output
        for row in rows.values():
            assert int(row["runs"]) == 40, output
            assert float(row["summaries"]) > 0, output
            assert int(row["messages"]) > 0, output
            assert int(row["errors"]) == 0, output
        assert "API peak RSS" in result.stdout, output


def test_history_bench_smoke() -> None:
    """`python -m bench.history` on a tiny history prints every measure and both goals."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.history", "--size", "3000", "--repeat", "1"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "3,000 runs" in result.stdout, output
    assert "trends of pipeline-007: 365 days" in result.stdout, output
    measures = {
        line.split("|")[0].strip(): float(line.split("|")[1])
        for line in result.stdout.splitlines()
        if line.count("|") == 3 and line.split("|")[1].strip()[:1].isdigit()
    }
    assert set(measures) == {
        "full refresh",
        "ingest of 1,000 runs (median of 3)",
        "incremental refresh after them",
        "a year of trends (analytics)",
    }, output
    assert all(ms > 0 for ms in measures.values()), output
    assert re.search(r"^incremental refresh <= 1000 ms: (PASS|FAIL)$", result.stdout, re.M)
    assert re.search(r"^a year of trends <= 100 ms: (PASS|FAIL)$", result.stdout, re.M)
