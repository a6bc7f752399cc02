"""Run `pulse` commands as a user would, in subprocesses with their own ports and data dir."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def pulse_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "PULSE_INGEST_TOKEN", "TEST_DATABASE_URL"}
    }
    env.update(
        PULSE_DATA_DIR=str(data_dir),
        PULSE_DEMO="true",
        PULSE_API_WORKERS="1",
        PULSE_UI_PORT=str(free_port()),
        PULSE_HISTORY_REFRESH_SEC="0.5",
        **extra,
    )
    return env


def pulse(
    *args: str,
    env: dict[str, str],
    timeout: float = 120,
    cwd: Path = ROOT,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run one `pulse` command to its end. Its stdin is no terminal unless given one: a test run
    from a terminal must not hand it to a command that asks."""
    return subprocess.run(
        [sys.executable, "-m", "ingest_api", *args],
        env=env,
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class PulseUp:
    process: subprocess.Popen[str]
    api_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def printed_token(self) -> str | None:
        match = re.search(r"prints it again\):\s*\n\s*(\S+)", self.output)
        return match.group(1) if match else None


@contextmanager
def pulse_up(
    data_dir: Path, log_path: Path, *, port: int | None = None, ignore_sigint: bool = False
) -> Iterator[PulseUp]:
    """Start `pulse up` and wait for its banner; stop it (SIGTERM) afterwards if still running.
    `ignore_sigint`: start it as a script's `pulse up &` does, with SIGINT ignored."""
    port = port or free_port()
    env = pulse_env(data_dir, PULSE_API_PORT=str(port))
    argv = [sys.executable, "-m", "ingest_api", "up"]
    if ignore_sigint:
        # The shell's `trap '' INT` is inherited through exec, as by a background job's command.
        argv = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *argv]
    with log_path.open("a") as log:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = PulseUp(process, f"http://127.0.0.1:{port}", data_dir, log_path, env)
    try:
        wait_for(
            lambda: "Pipeline Pulse is up" in running.output or process.poll() is not None,
            timeout=180,
            interval=0.2,
        )
        assert process.poll() is None, running.output
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_gone(pids: set[int], timeout: float = 60) -> None:
    wait_for(lambda: not any(alive(p) for p in pids), timeout=timeout, interval=0.2)


def stop(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> int:
    process.send_signal(sig)
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return process.wait(1)
