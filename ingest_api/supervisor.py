"""`pulse up`'s process supervision: children that die with their parent and restart on crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest_api.embedded_pg import EmbeddedPostgres, EmbeddedServerError
from ingest_api.processes import die_with_parent, terminate

# A dead database is started again at once, then (while starts fail, e.g. on a full disk) every
# few seconds at most, so it is back within this long of the cause going away.
SERVER_BACKOFF_SEC = (1.0, 5.0)


@dataclass
class Child:
    """One long-running child process, restarted with backoff when it crashes."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    next_start_at: float = 0.0
    backoff: float = field(default=1.0)

    def start(self) -> None:
        self.process = subprocess.Popen(
            list(self.argv),
            env=self.env,
            # Own process group: the terminal's Ctrl-C reaches `pulse up` alone, which then
            # stops the children in order (API before the database).
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        self.started_at = time.monotonic()

    def poll(self) -> int | None:
        """Restart a crashed child once its backoff has passed; the exit code when it died."""
        now = time.monotonic()
        if self.process is None:
            if now >= self.next_start_at:
                self.start()
            return None
        code = self.process.poll()
        if code is None:
            return None
        # A child that ran for a minute earns a fresh backoff.
        self.backoff = 1.0 if now - self.started_at > 60 else min(self.backoff * 2, 30.0)
        self.next_start_at = now + self.backoff
        self.process = None
        return code

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process, timeout)


@dataclass
class ServerWatch:
    """The embedded PostgreSQL server `pulse up` owns, started again when it dies.

    Without this a killed postmaster stayed dead (a zombie of `pulse up`) and every request
    answered 503 until someone restarted everything. Its children reconnect by themselves."""

    server: EmbeddedPostgres
    next_start_at: float | None = None
    backoff: float = SERVER_BACKOFF_SEC[0]

    def poll(self) -> str | None:
        """Start the server again if it died and its backoff has passed; a line saying what
        happened, or None while it runs."""
        now = time.monotonic()
        if self.next_start_at is None:
            code = self.server.exited()
            if code is None:
                return None
            self.next_start_at = now
            return f"PostgreSQL exited with {code}; restarting it"
        if now < self.next_start_at:
            return None
        try:
            self.server.start()
        except EmbeddedServerError as exc:
            self.next_start_at = now + self.backoff
            wait, self.backoff = self.backoff, min(self.backoff * 2, SERVER_BACKOFF_SEC[1])
            # The first and last lines: what failed, and the server log's verdict.
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            said = " … ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else repr(exc)
            return f"PostgreSQL did not start ({said}); trying again in {wait:.0f} s"
        self.next_start_at, self.backoff = None, SERVER_BACKOFF_SEC[0]
        return "PostgreSQL is running again"


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
