"""Child processes: ones that die with their parent, a free port for them, waiting until they
answer and stopping them. `pulse up`, the embedded server, the benchmarks and the tests all start
their children through here. Linux only (prctl).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "HOST",
    "ProcessNotReady",
    "answers",
    "die_with_parent",
    "exit_with_parent",
    "free_port",
    "serving",
    "terminate",
    "wait_ready",
    "wait_until",
]

T = TypeVar("T")

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class ProcessNotReady(RuntimeError):
    """A child exited, or did not get ready in time, during its start-up."""

    def __init__(self, message: str, returncode: int | None, output: str) -> None:
        super().__init__(f"{message}\n{output}" if output else message)
        self.returncode = returncode
        self.output = output


@cache
def _prctl() -> Any:
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the process calling this dies, even by SIGKILL,
    so nothing outlives it (0: no signal, the child is left to run on).

    Call it in the thread that starts the child, right before it does: PR_SET_PDEATHSIG fires
    when the spawning *thread* exits, not the process, so only the main thread is accepted. The
    kernel clears the setting on a change of uid; CPython runs preexec_fn after Popen's
    `user`/`group` switch, so pass those to Popen rather than switching in a preexec_fn of your
    own.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("start a child that dies with its parent from the main thread")
    # Resolved here, in the parent: no dlopen/dlsym between fork and exec.
    prctl = _prctl()
    parent = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            os._exit(1)  # the parent died before prctl: the signal would never come

    return preexec


def exit_with_parent(parent: int, sig: int = signal.SIGTERM) -> None:
    """die_with_parent for a process already running, started by code we do not control (a
    uvicorn worker): `sig` comes when `parent` dies, or at once if it is gone already. Call it
    from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("call exit_with_parent from the main thread")
    if _prctl()(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses; it ends at the last ')'.
    return raw.rpartition(")")[2].split()


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs."""
    if pid <= 0:
        return False
    fields = proc_stat(pid)
    # A zombie has exited; only its parent's wait() is missing.
    return fields is not None and fields[0] not in ("Z", "X")


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now; someone may take it before the caller binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """Call `predicate` until it returns something truthy, or `timeout` seconds have passed; its
    last value. It is always called once after the deadline has passed, so a slow machine gets a
    last chance rather than a false timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a GET of `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our children)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(
    process: subprocess.Popen[Any],
    ready: Callable[[], bool],
    timeout: float,
    interval: float = 0.1,
) -> bool:
    """Poll `ready()` until it holds while `process` runs; False when the process exits first or
    `timeout` seconds pass."""
    settled = wait_until(lambda: process.poll() is not None or ready(), timeout, interval)
    return settled and process.poll() is None


def terminate(
    process: subprocess.Popen[Any], timeout: float = 30.0, *, group: bool = False
) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds (to the whole process group with `group`,
    for a child started in a session of its own); reaps the child."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        if group:
            # The leader is not reaped yet, so its group id cannot belong to anyone else.
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


@contextmanager
def serving(
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    timeout: float,
    log: Path | None = None,
    stop_timeout: float = 30.0,
    interval: float = 0.1,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv`, wait until `ready()` holds, and stop it (`terminate`) on leaving the block.

    Its output goes to `log` (appended) when given, else wherever `popen` says. Raises
    ProcessNotReady, carrying the log's last lines, if it exits or is not ready within `timeout`
    seconds."""
    if log is not None:
        with log.open("ab") as out:
            process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, **popen)
    else:
        process = subprocess.Popen(list(argv), **popen)
    group = bool(popen.get("start_new_session"))
    try:
        if not wait_ready(process, ready, timeout, interval):
            exited = process.poll()
            terminate(process, stop_timeout, group=group)
            what = (
                f"exited with {exited}" if exited is not None else f"was not ready in {timeout:g} s"
            )
            tail = _tail(log) if log is not None else ""
            raise ProcessNotReady(f"`{' '.join(argv)}` {what}", exited, tail)
        yield process
    finally:
        terminate(process, stop_timeout, group=group)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
