"""The `pulse` command as people and scripts meet it: signals, tokens, psql, settings errors,
message layout and `pulse runs delete`, each run in its own process against a real server."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest_api.config import write_new_token
from ingest_api.db import libpq_url, make_engine
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.processes import free_port
from tests.e2e.processes import ROOT, descendants, pulse, pulse_env, pulse_up, stop, wait_gone
from tests.rollup_checks import assert_rollups_exact

pytestmark = pytest.mark.e2e

# Narrower than any message that names a command: rich must not break one to fit.
NARROW = "60"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A data dir whose embedded server this test process runs; `pulse` commands join it as
    they join `pulse up`'s. Yields the data dir and the server's URL."""
    data_dir = tmp_path / "data"
    with EmbeddedPostgres(data_dir) as running:
        yield data_dir, libpq_url(running.url)


def _postgres_pids(pids: set[int]) -> set[int]:
    return {
        pid
        for pid in pids
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\x00")[0].endswith(b"/postgres")
    }


class TestPulseUpSignals:
    def test_ctrl_c_stops_it_when_started_with_sigint_ignored(self, tmp_path: Path) -> None:
        with pulse_up(tmp_path / "data", tmp_path / "up.log", ignore_sigint=True) as up:
            tree = descendants(up.process.pid)
            assert _postgres_pids(tree), "the embedded server runs below pulse up"
            assert stop(up.process, signal.SIGINT) == 0
            wait_gone(tree)
            assert "Stopped." in up.output

    def test_sighup_stops_it_like_sigterm(self, tmp_path: Path) -> None:
        with pulse_up(tmp_path / "data", tmp_path / "up.log") as up:
            tree = descendants(up.process.pid)
            assert _postgres_pids(tree)
            assert stop(up.process, signal.SIGHUP) == 0
            wait_gone(tree)
            assert "Stopping …" in up.output
            assert "Stopped." in up.output

    def test_closing_its_terminal_stops_it(self, tmp_path: Path) -> None:
        """The terminal hangs up (SIGHUP) and every later write to it fails; the stop is
        orderly all the same."""
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest_api", "up"],
            env=pulse_env(tmp_path / "data", PULSE_API_PORT=str(free_port())),
            cwd=ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_controlling_terminal,
        )
        os.close(slave)
        try:
            _read_until(master, b"Pipeline Pulse is up", process)
            tree = descendants(process.pid)
            assert _postgres_pids(tree)
            os.close(master)
            master = -1
            assert process.wait(90) == 0
            wait_gone(tree)
        finally:
            if master >= 0:
                os.close(master)
            if process.poll() is None:
                process.kill()
                process.wait()


class TestToken:
    def test_a_new_token_says_where_and_warns_when_nothing_runs_there(self, tmp_path: Path) -> None:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        env = pulse_env(tmp_path / "unused", COLUMNS=NARROW)
        del env["PULSE_DATA_DIR"]  # the default, ./.pulse, as when run from another directory

        created = pulse("token", env=env, cwd=elsewhere)
        assert created.returncode == 0, created.stderr
        token_file = elsewhere / ".pulse" / "ingest-token"
        assert created.stdout == token_file.read_text()
        assert created.stderr.splitlines() == [
            f"Created a new ingest token in {token_file}.",
            f"warning: no `pulse up` runs for {elsewhere / '.pulse'}; an API started with "
            "another data dir rejects this token (set PULSE_DATA_DIR to its data dir, or run "
            "`pulse token` where `pulse up` runs).",
        ]

        again = pulse("token", env=env, cwd=elsewhere)
        assert (again.returncode, again.stdout, again.stderr) == (0, created.stdout, "")

    def test_no_warning_for_a_data_dir_in_use(self, server: tuple[Path, str]) -> None:
        data_dir, _ = server
        env = pulse_env(data_dir)
        created = pulse("token", env=env)
        assert created.returncode == 0, created.stderr
        assert created.stderr == f"Created a new ingest token in {data_dir / 'ingest-token'}.\n"

        rotated = pulse("token", "--rotate", env=env)
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout == (data_dir / "ingest-token").read_text()
        assert rotated.stdout != created.stdout
        assert rotated.stderr == (
            f"Rotated the token in {data_dir / 'ingest-token'}: an API reading it accepts only "
            "the new one.\n"
        )

    def test_tokens_never_start_with_a_dash(self, tmp_path: Path) -> None:
        # One draw in 64 starts with "-" unless refused: 500 draws would all but surely show one.
        tokens = [write_new_token(tmp_path / "ingest-token") for _ in range(500)]
        assert [t for t in tokens if t.startswith("-")] == []
        assert len(set(tokens)) == 500
        assert (tmp_path / "ingest-token").read_text() == tokens[-1] + "\n"


class TestPsql:
    def test_arguments_go_to_psql(self, server: tuple[Path, str]) -> None:
        data_dir, _ = server
        result = pulse(
            "psql", "-At", "-c", "select 6 * 7, current_database()", env=pulse_env(data_dir)
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "42|pulse\n", "")


class TestSettingsErrors:
    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            ("PULSE_API_PORT", "abc", "PULSE_API_PORT must be a whole number (got 'abc')."),
            ("PULSE_LIVE_TICK_MS", "5", "PULSE_LIVE_TICK_MS must be at least 10 (got '5')."),
            ("PULSE_DEMO", "maybe", "PULSE_DEMO must be true or false (got 'maybe')."),
            (
                "PULSE_INGEST_TOKEN",
                "changeme",
                "PULSE_INGEST_TOKEN holds a placeholder; set a real secret.",
            ),
        ],
    )
    def test_one_plain_sentence(
        self, tmp_path: Path, variable: str, value: str, message: str
    ) -> None:
        env = {**pulse_env(tmp_path / "data", COLUMNS=NARROW), variable: value}
        result = pulse("up", env=env, timeout=60)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")
        assert not (tmp_path / "data").exists()

    def test_every_problem_is_named(self, tmp_path: Path) -> None:
        env = pulse_env(tmp_path / "data", PULSE_API_PORT="80.5", PULSE_LIVE_QUEUE="0")
        result = pulse("token", env=env, timeout=60)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "error: PULSE_API_PORT must be a whole number (got '80.5').",
            "error: PULSE_LIVE_QUEUE must be at least 1 (got '0').",
        ]


class TestMessageLayout:
    def test_a_command_in_a_message_is_never_broken(self, tmp_path: Path) -> None:
        data_dir = tmp_path / ("a-data-dir-with-a-long-name-" * 3)
        result = pulse("api", env=pulse_env(data_dir, COLUMNS=NARROW), timeout=60)
        assert result.returncode == 2
        assert result.stderr == (
            f"error: no database: nothing runs for {data_dir}. Start it with `pulse up`, "
            "or set DATABASE_URL.\n"
        )


class TestRunsDelete:
    def test_counts_asks_and_removes(self, server: tuple[Path, str]) -> None:
        data_dir, url = server
        env = pulse_env(data_dir, COLUMNS=NARROW)
        simulated = pulse("simulate", "--count", "50", "--pipelines", "web,api", env=env)
        assert simulated.returncode == 0, simulated.stderr
        counts = _run_counts(url)
        assert sum(counts.values()) == 50
        web, api = counts["web"], counts["api"]

        dry = pulse("runs", "delete", "--pipeline", "web", "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert _report(dry.stdout) == ("Runs matching pipeline web:", {"web": web, "total": web})
        assert dry.stdout.endswith("Dry run: nothing removed.\n")
        assert _run_counts(url) == counts

        # No terminal to ask on and no --yes: a script gets a refusal, not a deletion.
        refused = pulse("runs", "delete", "--pipeline", "web", env=env)
        assert refused.returncode == 2
        assert refused.stderr == (
            f"error: not removing {web} runs unasked, and there is no terminal to ask on: "
            "pass --yes to remove them.\n"
        )
        assert _run_counts(url) == counts

        declined = _answering("n", "runs", "delete", "--pipeline", "web", env=env)
        assert declined.returncode == 1, declined.stderr
        assert f"Remove these {web} runs? [y/N]" in declined.stdout
        assert declined.stdout.endswith("Nothing removed.\n")
        assert _run_counts(url) == counts

        removed = pulse("runs", "delete", "--pipeline", "web", "--yes", env=env)
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout.endswith(f"Removed {web} runs; the rollups of web are rebuilt.\n")
        assert _run_counts(url) == {"api": api}
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as conn:
                assert_rollups_exact(conn)
                conn.rollback()
        finally:
            engine.dispose()

        # No filter: every run, said in so many words.
        everything = pulse("runs", "delete", "--dry-run", env=env)
        assert everything.returncode == 0, everything.stderr
        assert _report(everything.stdout) == (
            "No filter given: this would remove EVERY run, of every pipeline.",
            {"api": api, "total": api},
        )
        asked = _answering("n", "runs", "delete", env=env)
        assert f"Remove EVERY run ({api})? [y/N]" in asked.stdout
        assert _run_counts(url) == {"api": api}

    def test_before_is_an_iso_time_and_naive_means_utc(self, server: tuple[Path, str]) -> None:
        data_dir, url = server
        env = pulse_env(data_dir, COLUMNS=NARROW)
        simulated = pulse("simulate", "--count", "40", "--pipelines", "api", env=env)
        assert simulated.returncode == 0, simulated.stderr
        with psycopg.connect(url) as conn:
            conn.execute("set timezone = 'UTC'")
            row = conn.execute(
                "select started_at from runs order by started_at offset 15 limit 1"
            ).fetchone()
            assert row is not None
            cut = row[0]
            earlier = conn.execute(
                "select count(*) from runs where started_at < %s", (cut,)
            ).fetchone()
        assert earlier is not None

        naive = cut.replace(tzinfo=None).isoformat()
        dry = pulse("runs", "delete", "--before", naive, "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert _report(dry.stdout) == (
            f"Runs matching started before {cut.isoformat()}:",
            {"api": earlier[0], "total": earlier[0]},
        )

        garbage = pulse("runs", "delete", "--before", "last tuesday", "--yes", env=env)
        assert garbage.returncode == 2
        assert garbage.stderr == (
            "error: --before must be an ISO 8601 time such as 2025-08-25T20:28:03Z or "
            "2025-08-25 (got 'last tuesday').\n"
        )
        none = pulse("runs", "delete", "--before", "2001-01-01", "--yes", env=env)
        assert none.returncode == 0, none.stderr
        assert none.stdout == (
            "No run matches (started before 2001-01-01T00:00:00+00:00); nothing to remove.\n"
        )
        assert sum(_run_counts(url).values()) == 40


def _run_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select pipelines.name, count(*) from runs"
            " join pipelines on pipelines.id = runs.pipeline_id group by 1"
        ).fetchall()
    return {str(name): int(count) for name, count in rows}


def _report(stdout: str) -> tuple[str, dict[str, int]]:
    """The heading and the per-pipeline counts (with the total) of `pulse runs delete`."""
    lines = stdout.splitlines()
    counts = {}
    for line in lines[1:]:
        match = re.fullmatch(r"  (\S+) +(\d+)", line)
        if match:
            counts[match.group(1)] = int(match.group(2))
    return lines[0], counts


def _answering(answer: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `pulse` with a terminal as its stdin, typing `answer` at its question."""
    master, slave = pty.openpty()
    try:
        os.write(master, f"{answer}\n".encode())
        return pulse(*args, env=env, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)


def _take_controlling_terminal() -> None:
    # After start_new_session's setsid: the pty on stdin becomes the session's terminal, so
    # closing its other end hangs up on `pulse up` as closing a terminal window does.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(master: int, text: bytes, process: subprocess.Popen[bytes]) -> bytes:
    """Read a terminal's output until `text` shows (it must be read: a full terminal blocks)."""
    seen = b""
    deadline = time.monotonic() + 180
    while text not in seen:
        assert process.poll() is None, seen.decode(errors="replace")
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            seen += os.read(master, 65536)
    return seen
