"""Run `pulse` commands as a user would, in subprocesses with their own ports and data dir."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ingest_api.processes import free_port, serving
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def pulse_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "PULSE_INGEST_TOKEN", "TEST_DATABASE_URL"}
    }
    env.update(
        {
            "PULSE_DATA_DIR": str(data_dir),
            "PULSE_DEMO": "true",
            "PULSE_API_WORKERS": "1",
            "PULSE_UI_PORT": str(free_port()),
            "PULSE_STREAMLIT_PORT": str(free_port()),
            "PULSE_HISTORY_REFRESH_SEC": "0.5",
            **extra,
        }
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


def pulse_command(pid: int) -> str | None:
    """The command of a `python -m ingest_api <command>` process; None for any other."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for i, arg in enumerate(argv[:-2]):
        if arg == "-m" and argv[i + 1] == "ingest_api":
            return argv[i + 2]
    return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class PulseUp:
    process: subprocess.Popen[bytes]
    api_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def child(self, command: str) -> int:
        """The pid of the child running `command` (api, worker, ui)."""
        for pid in descendants(self.process.pid):
            if pulse_command(pid) == command:
                return pid
        raise AssertionError(f"no {command} process under pulse up")

    def postmaster(self) -> int:
        """The embedded PostgreSQL's pid, as `pulse up` records it."""
        pid: int = json.loads((self.data_dir / "postgres.json").read_text())["pid"]
        return pid

    def printed_token(self) -> str | None:
        match = re.search(r"prints it again\):\s*\n\s*(\S+)", self.output)
        return match.group(1) if match else None


@contextmanager
def pulse_up(
    data_dir: Path,
    log_path: Path,
    *,
    port: int | None = None,
    ignore_sigint: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[PulseUp]:
    """Start `pulse up` and wait for its banner; stop it (SIGTERM) afterwards if still running.
    `ignore_sigint`: start it as a script's `pulse up &` does, with SIGINT ignored.
    `extra_env`: more settings for it (e.g. PULSE_GITHUB_WEBHOOK_SECRET)."""
    port = port or free_port()
    env = pulse_env(data_dir, PULSE_API_PORT=str(port), **(extra_env or {}))
    argv = [sys.executable, "-m", "ingest_api", "up"]
    if ignore_sigint:
        # The shell's `trap '' INT` is inherited through exec, as by a background job's command.
        argv = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *argv]
    with serving(
        argv,
        ready=lambda: "Press Ctrl-C to stop." in log_path.read_text(),  # the whole banner
        timeout=180,
        log=log_path,
        stop_timeout=60,
        interval=0.2,
        env=env,
        cwd=ROOT,
    ) as process:
        yield PulseUp(process, f"http://127.0.0.1:{port}", data_dir, log_path, env)


def wait_gone(pids: set[int], timeout: float = 60) -> None:
    wait_for(lambda: not any(alive(p) for p in pids), timeout=timeout, interval=0.2)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> int:
    """Send `sig` and wait for the exit code: the test asserts on it, so no SIGKILL follows."""
    process.send_signal(sig)
    return process.wait(90)
