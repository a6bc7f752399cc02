"""Seconds-long runs of each `python -m bench.*`: they run end to end and print their reports.

No timing assertions: the machine is shared and noisy; `make bench` is where numbers come from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(
    module: str, *args: str, timeout: int, drop_env: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """Run `python -m bench.<module>` from the checkout; its exit code, stdout and all output.

    DATABASE_URL is dropped (and `drop_env`): each bench makes its own scratch server."""
    dropped = {"DATABASE_URL", *drop_env}
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in dropped},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.returncode, result.stdout, result.stdout + result.stderr


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
        returncode, stdout, output = run_bench(
            "ingest", *args, timeout=180, drop_env=("PULSE_INGEST_TOKEN",)
        )
        assert returncode == 0, output

        rows = {m["key"]: m for m in TABLE_ROW.finditer(stdout)}
        assert sorted(rows) == ["a", "b", "c", "d"], output
        for row in rows.values():
            assert int(row["requests"]) > 0, output
            assert int(row["rate"]) > 0, output
            assert int(row["errors"]) == 0, output
        assert re.search(r"^c/b = \d+\.\d+ .*c/a = \d+\.\d+", stdout, re.MULTILINE), output
        assert re.search(r"^goal: c >= 0\.6 x b: (PASS|FAIL)$", stdout, re.MULTILINE), output
        assert re.search(r"^rollup triggers cost -?\d+ %", stdout, re.MULTILINE), output


def test_summary_bench_smoke() -> None:
    """`python -m bench.summary` on a tiny history prints a row per window, rollups and raw."""
    returncode, stdout, output = run_bench(
        "summary", "--size", "3000", "--repeat", "1", timeout=300
    )
    assert returncode == 0, output
    assert "3,000 runs" in stdout
    rows = [line for line in stdout.splitlines() if line.strip()[:1].isdigit()]
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
        returncode, stdout, output = run_bench("live", *args, timeout=180)
        assert returncode == 0, output
        rows = {int(m["clients"]): m for m in LIVE_ROW.finditer(stdout)}
        assert sorted(rows) == [10, 20], output
        for row in rows.values():
            assert int(row["runs"]) == 40, output
            assert float(row["summaries"]) > 0, output
            assert int(row["messages"]) > 0, output
            assert int(row["errors"]) == 0, output
        assert "API peak RSS" in stdout, output


def test_history_bench_smoke() -> None:
    """`python -m bench.history` on a tiny history prints every measure and both goals."""
    returncode, stdout, output = run_bench(
        "history", "--size", "3000", "--repeat", "1", timeout=300
    )
    assert returncode == 0, output
    assert "3,000 runs" in stdout, output
    assert "trends of pipeline-007: 365 days" in stdout, output
    measures = {
        line.split("|")[0].strip(): float(line.split("|")[1])
        for line in stdout.splitlines()
        if line.count("|") == 3 and line.split("|")[1].strip()[:1].isdigit()
    }
    assert set(measures) == {
        "full refresh",
        "ingest of 1,000 runs (median of 3)",
        "incremental refresh after them",
        "a year of trends (analytics)",
    }, output
    assert all(ms > 0 for ms in measures.values()), output
    assert re.search(r"^incremental refresh <= 1000 ms: (PASS|FAIL)$", stdout, re.M)
    assert re.search(r"^a year of trends <= 100 ms: (PASS|FAIL)$", stdout, re.M)


def test_alerts_bench_smoke() -> None:
    """`python -m bench.alerts` for seconds: both phases, the drain, each mail once."""
    returncode, stdout, output = run_bench(
        "alerts", "--seconds", "1", "--clients", "2", "--transitions", "50", timeout=300
    )
    assert returncode == 0, output
    rows = re.findall(r"^(off|on \(1 in 10\))\s*\|\s+(\d+) \|\s+(\d+) \|\s+(\d+) \|", stdout, re.M)
    assert [row[0] for row in rows] == ["off", "on (1 in 10)"], output
    assert all(int(row[1]) > 0 and int(row[3]) == 0 for row in rows), output
    assert re.search(
        r"^drain: 50 transitions in one commit -> 50 mails \(50 distinct\)", stdout, re.M
    )
    assert re.search(r"^goal: on >= 0\.9 x off: (PASS|FAIL)$", stdout, re.M), output


def test_streamlit_bench_smoke() -> None:
    """`python -m bench.streamlit` on a tiny history renders every page of every scope."""
    returncode, stdout, output = run_bench(
        "streamlit", "--size", "3000", "--repeat", "1", timeout=300
    )
    assert returncode == 0, output
    assert "3,000 runs" in stdout, output
    rows = re.findall(r"^(\w+)\s+\|\s+(\d+) \| (\S+)\s+\|\s+(\d+) \|\s+(\d+)$", stdout, re.M)
    assert {(page, days, who) for page, days, who, *_ in rows} == {
        (page, days, who)
        for page in ("trends", "reliability", "time", "breakages", "runs")
        for days in ("30", "365")
        for who in ("all", "pipeline-007")
    }, output
    assert re.search(r"a page <= 2000 ms: (PASS|FAIL)$", stdout, re.M), output


SCALE_ROW = re.compile(
    r"^\s+(?P<label>\S+(?: ingest)?) \|\s+(?P<api>\d+\.\d{3}) \|\s+(?P<pg>\d+\.\d{3}) \|"
    r"\s+(?P<summaries>\d+\.\d\d) \|\s+(?P<p50>\d+|n/a) \|\s+(?P<p95>\d+|n/a) \|"
    r"(?P<gets>(?:\s+\d+\.\d(?: \|)?){8})$",
    re.MULTILINE,
)


def test_scale_bench_smoke() -> None:
    """`python -m bench.scale` on tiny histories: a row per scenario with real figures, the
    ratios to the baseline and every goal line."""
    args = ["--history", "2000,4000", "--pipelines", "20,40", "--seconds", "2"]
    args += ["--warmup", "1", "--rate", "10", "--repeat", "1"]
    returncode, stdout, output = run_bench("scale", *args, timeout=300)
    assert returncode == 0, output
    rows = {m["label"]: m for m in SCALE_ROW.finditer(stdout)}
    assert list(rows) == ["2k/20", "4k/20", "4k/20 ingest", "2k/40"], output
    for label, row in rows.items():
        assert float(row["api"]) > 0, output
        assert float(row["pg"]) > 0, output
        assert all(float(ms) > 0 for ms in row["gets"].replace("|", " ").split()), output
        if label.endswith("ingest"):  # nobody watches: no summary pushed, no latency
            assert (float(row["summaries"]), row["p50"], row["p95"]) == (0, "n/a", "n/a"), output
            continue
        assert float(row["summaries"]) > 0, output
        assert int(row["p95"]) >= int(row["p50"]) >= 0, output
    assert "2k/20: 2,000 runs over 20 pipelines" in stdout, output
    assert "20 runs posted in the measured window, 0 errors" in stdout, output
    goal = r"\(goal <= 0\.3: (PASS|FAIL)\)$"
    assert len(re.findall(r"^\S+: API \+ PostgreSQL \d+\.\d{3} cores " + goal, stdout, re.M)) == 2
    assert re.search(
        r"^4k/20: API \+ PostgreSQL \d+\.\d{3} cores "
        + goal[:-1]
        + r"; live updates -?\d+\.\d{3} over the ingest alone$",
        stdout,
        re.M,
    )
    assert re.search(
        r"^4k/20 ingest: API \+ PostgreSQL \d+\.\d{3} cores for the ingest alone, no viewer",
        stdout,
        re.M,
    )
    assert re.search(
        r"^  vs 2k/20: \d+\.\d\dx \(goal, history: <= 1\.5x: (PASS|FAIL)\)$", stdout, re.M
    )
    assert re.search(
        r"^  vs 2k/20: \d+\.\d\dx \(goal, pipelines: <= 2x: (PASS|FAIL)\)$", stdout, re.M
    )
    assert len(re.findall(r"^  p95 POST -> runs_update \d+ ms \(goal <= 350", stdout, re.M)) == 3
    assert (
        len(
            re.findall(
                r"^  summary medians: up to a day .* \(goal <= 15: (PASS|FAIL)\)$", stdout, re.M
            )
        )
        == 3
    )


def test_bulk_bench_smoke() -> None:
    """`python -m bench.bulk` on a tiny history prints every step and the ratio."""
    returncode, stdout, output = run_bench("bulk", "--size", "2000", "--sample", "200", timeout=300)
    assert returncode == 0, output
    assert "import, end to end" in stdout
    assert re.search(r"^import / per event = \d+\.\dx$", stdout, re.MULTILINE), output
