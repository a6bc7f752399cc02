"""`pulse up`'s process supervision: children that die with their parent and restart on crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest_api.processes import die_with_parent, terminate


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


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
