"""The embedded PostgreSQL lifecycle, against real servers in temporary data dirs.

Every wait is an outcome polled under a generous bound; nothing asserts on elapsed time.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest_api.embedded_pg import (
    EmbeddedPostgres,
    EmbeddedServerBusy,
    EmbeddedServerError,
    attach,
    default_bin_dir,
)
from ingest_api.processes import free_port, wait_until

pytestmark = pytest.mark.embedded

REPO = Path(__file__).resolve().parents[1]
PG15_BIN = Path("/usr/lib/postgresql/15/bin")
IS_ROOT = os.geteuid() == 0
PR_SET_CHILD_SUBREAPER = 36
WAIT = 30.0  # bound for outcomes that normally take well under a second

BIN_DIRS = [
    pytest.param(None, id="wheel"),
    pytest.param(
        PG15_BIN,
        id="pg15",
        marks=pytest.mark.skipif(
            not (PG15_BIN / "postgres").exists(), reason="Debian's PostgreSQL 15 is not installed"
        ),
    ),
]

# Owner process for the cross-process tests: starts the server, reports, then sleeps until killed.
OWNER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from ingest_api import embedded_pg
    if sys.argv[4] == "no-pdeathsig":
        embedded_pg._PDEATHSIG = 0  # an owner that dies without taking the server down
    bin_dir = Path(sys.argv[3]) if sys.argv[3] else None
    pg = embedded_pg.EmbeddedPostgres(Path(sys.argv[2]), bin_dir=bin_dir)
    pg.start()
    print(json.dumps({"pid": pg.pid, "port": pg.port, "url": pg.url}), flush=True)
    time.sleep(600)
    """
)


def running(pid: int) -> bool:
    """Alive and not a zombie (this machine's PID 1 does not reap orphans)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] not in ("Z", "X")


def postgres_pids(pgdata: Path) -> set[int]:
    """Live `postgres` processes serving `pgdata`: the postmaster names it, backends sit in it."""
    found = set()
    target = os.fsencode(str(pgdata))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "exe")).name.removesuffix(" (deleted)") != "postgres":
                continue
            args = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (target in args or cwd == str(pgdata)) and running(int(entry.name)):
            found.add(int(entry.name))
    return found


def reap(pid: int) -> None:
    # Orphans re-parent to this process (a subreaper, see below); collect this one only.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@pytest.fixture(scope="module", autouse=True)
def _subreaper() -> Iterator[None]:
    # Orphaned postmasters otherwise become zombies of a PID 1 that never reaps them (as on this
    # machine); as our orphans, the tests reap them. Process-wide, so undone afterwards.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    # Safety net only; the tests assert on what must already be gone.
    for pid in postgres_pids((path / "postgres").resolve()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
    wait_until(lambda: not postgres_pids((path / "postgres").resolve()), WAIT)


@pytest.fixture
def spawn_owner(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], Any]]]:
    procs: list[subprocess.Popen[str]] = []
    script = tmp_path / "owner.py"
    script.write_text(OWNER_SCRIPT)

    def spawn(
        data: Path, bin_dir: Path | None = None, *, pdeathsig: bool = True
    ) -> tuple[subprocess.Popen[str], Any]:
        stderr = (tmp_path / f"owner-{len(procs)}.err").open("w")
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(REPO),
                str(data),
                str(bin_dir or ""),
                "pdeathsig" if pdeathsig else "no-pdeathsig",
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            # The owner imports exactly what this process imports.
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        stderr.close()
        procs.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else ""
        assert line, f"owner did not start: {Path(stderr.name).read_text()}"
        return proc, json.loads(line)

    yield spawn
    for proc in procs:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def query(url: str, sql: str) -> Any:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


@pytest.mark.parametrize("bin_dir", BIN_DIRS)
def test_first_start_initialises_and_serves(data_dir: Path, bin_dir: Path | None) -> None:
    pg = EmbeddedPostgres(data_dir, bin_dir=bin_dir)
    with pg:
        url = pg.url
        assert url.startswith("postgresql://postgres:")
        assert url.endswith(f"@127.0.0.1:{pg.port}/pulse")
        assert query(url, "SELECT current_database()") == "pulse"
        assert query(url, "SHOW listen_addresses") == "127.0.0.1"
        assert query(url, "SHOW unix_socket_directories") == ""
        major = (data_dir / "postgres" / "PG_VERSION").read_text().strip()
        assert pg.server_version().split(".")[0] == major
        assert query(url, "SHOW server_version").split()[0] == pg.server_version()

        # Password auth, not trust: a wrong password is refused.
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://postgres:wrong@127.0.0.1:{pg.port}/pulse").close()

        password_file = data_dir / "postgres-password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert password_file.read_text().strip() in url

        state = json.loads((data_dir / "postgres.json").read_text())
        assert state["pid"] == pg.pid
        assert state["port"] == pg.port
        assert state["owner_pid"] == os.getpid()
        assert Path(state["bin_dir"]) == (bin_dir or default_bin_dir())

        assert pg.pid is not None
        status = Path(f"/proc/{pg.pid}/status").read_text()
        uid = int(status.split("Uid:")[1].split()[0])
        groups = status.split("Groups:")[1].split("\n")[0].split()
        if IS_ROOT:
            assert uid == pwd.getpwnam("pulse-pg").pw_uid
            assert "0" not in groups  # root's supplementary groups were dropped
        else:
            assert uid == os.getuid()
        assert password_file.read_text().strip() not in repr(pg)


@pytest.mark.parametrize("bin_dir", BIN_DIRS)
def test_restart_keeps_rows_and_port(data_dir: Path, bin_dir: Path | None) -> None:
    with EmbeddedPostgres(data_dir, bin_dir=bin_dir) as first:
        with psycopg.connect(first.url) as conn:
            conn.execute("CREATE TABLE runs (id int PRIMARY KEY, status text)")
            conn.execute("INSERT INTO runs SELECT g, 'success' FROM generate_series(1, 500) g")
        port = first.port
    with EmbeddedPostgres(data_dir, bin_dir=bin_dir) as second:
        assert second.port == port  # reused: it is free again after a clean stop
        assert query(second.url, "SELECT count(*) FROM runs") == 500


def test_clean_stop_leaves_nothing_behind(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    pg.start()
    pgdata = (data_dir / "postgres").resolve()
    postmaster = pg.pid
    assert postmaster is not None
    assert postmaster in postgres_pids(pgdata)
    assert len(postgres_pids(pgdata)) > 1  # the postmaster and its background workers
    pg.stop()
    assert postgres_pids(pgdata) == set()
    assert not (data_dir / "postgres.json").exists()
    assert not (pgdata / "postmaster.pid").exists()
    assert "fast shutdown request" in (data_dir / "postgres.log").read_text()
    pg.stop()  # idempotent


def test_explicit_port_is_used_as_given(data_dir: Path) -> None:
    free = free_port()
    with EmbeddedPostgres(data_dir, port=free) as pg:
        assert pg.port == free
        assert query(pg.url, "SHOW port") == str(free)


def test_busy_recorded_port_is_replaced_but_an_explicit_one_is_not(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as first:
        recorded = first.port
    with socket.socket() as squatter:
        # The first server's closed connections may sit in TIME_WAIT on that port.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", recorded))
        squatter.listen()
        with EmbeddedPostgres(data_dir) as second:
            assert second.port != recorded
            assert query(second.url, "SELECT 1") == 1
        with pytest.raises(EmbeddedServerError, match="in use"):
            EmbeddedPostgres(data_dir, port=recorded).start()
    assert not (data_dir / "postgres.json").exists()
    assert postgres_pids((data_dir / "postgres").resolve()) == set()


@pytest.mark.parametrize("bin_dir", BIN_DIRS)
def test_killed_owner_takes_its_server_down(
    data_dir: Path, bin_dir: Path | None, spawn_owner: Callable[..., Any]
) -> None:
    owner, info = spawn_owner(data_dir, bin_dir)
    pgdata = (data_dir / "postgres").resolve()
    assert info["pid"] in postgres_pids(pgdata)

    # While the owner lives: others attach, nobody else starts a second server.
    url = attach(data_dir)
    assert url is not None
    assert url == info["url"]
    assert query(url, "SELECT 1") == 1
    with pytest.raises(EmbeddedServerBusy):
        EmbeddedPostgres(data_dir, bin_dir=bin_dir).start()

    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert wait_until(lambda: not postgres_pids(pgdata), WAIT), postgres_pids(pgdata)
    reap(info["pid"])
    assert attach(data_dir) is None
    assert "fast shutdown request" in (data_dir / "postgres.log").read_text()


@pytest.mark.parametrize("pid_kind", ["unrelated-live-process", "dead-pid"])
def test_stale_postmaster_pid_is_ignored_and_never_signalled(data_dir: Path, pid_kind: str) -> None:
    with EmbeddedPostgres(data_dir):
        pass  # initdb, so only the stale lock file stands in the way
    # As root the bystander runs as the server's user: PostgreSQL itself would then also take
    # the pid for a live server (kill(pid, 0) succeeds), so only our clean-up lets it start.
    as_server_user: dict[str, Any] = {}
    if IS_ROOT:
        account = pwd.getpwnam("pulse-pg")
        as_server_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    bystander = subprocess.Popen(["sleep", "60"], **as_server_user)
    try:
        if pid_kind == "dead-pid":
            gone = subprocess.Popen(["true"])
            gone.wait()
            stale_pid = gone.pid
        else:
            stale_pid = bystander.pid
        pid_file = data_dir / "postgres" / "postmaster.pid"
        pid_file.write_text(f"{stale_pid}\n{(data_dir / 'postgres').resolve()}\n0\n5432\n")

        with EmbeddedPostgres(data_dir) as pg:
            assert query(pg.url, "SELECT 1") == 1
            assert pid_file.read_text().split()[0] == str(pg.pid)
        assert bystander.poll() is None, "an unrelated process was signalled"
    finally:
        bystander.kill()
        bystander.wait()


def test_orphan_is_stopped_and_replaced(data_dir: Path, spawn_owner: Callable[..., Any]) -> None:
    owner, info = spawn_owner(data_dir, pdeathsig=False)
    with psycopg.connect(info["url"]) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('from before')")
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    orphan = info["pid"]
    # The simulation holds: the owner is gone, its server is not.
    assert running(orphan)
    assert attach(data_dir) is None

    with EmbeddedPostgres(data_dir) as pg:
        assert not running(orphan)
        assert pg.pid != orphan
        assert query(pg.url, "SELECT v FROM kept") == "from before"
    reap(orphan)
    assert "fast shutdown request" in (data_dir / "postgres.log").read_text()


def test_attach_follows_the_owner(data_dir: Path) -> None:
    assert attach(data_dir) is None
    pg = EmbeddedPostgres(data_dir)
    url = pg.start()
    try:
        assert attach(data_dir) == url
    finally:
        pg.stop()
    assert attach(data_dir) is None


def test_second_owner_is_refused_while_the_first_lives(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as first:
        second = EmbeddedPostgres(data_dir)
        with pytest.raises(EmbeddedServerBusy):
            second.start()
        second.stop()  # nothing to stop: must not touch the first server or its state
        assert query(first.url, "SELECT 1") == 1
        assert json.loads((data_dir / "postgres.json").read_text())["pid"] == first.pid


def test_stop_in_a_forked_copy_leaves_the_server_running(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as pg:
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked copy only
            try:
                pg.stop()
            finally:
                os._exit(0)
        os.waitpid(child, 0)
        assert query(pg.url, "SELECT 1") == 1
        assert attach(data_dir) == pg.url


ORDINARY_SCRIPT = textwrap.dedent(
    """
    import json, os, site, sys
    from pathlib import Path
    if sys.argv[3]:
        site.addsitedir(sys.argv[3])  # the venv's packages, for a system interpreter
    sys.path.insert(0, sys.argv[1])
    import psycopg
    from ingest_api.embedded_pg import EmbeddedPostgres
    pg = EmbeddedPostgres(Path(sys.argv[2]))
    with pg:
        with psycopg.connect(pg.url) as conn:
            user = conn.execute("SELECT current_user").fetchone()[0]
        server_uid = os.stat(f"/proc/{pg.pid}").st_uid
        pid = pg.pid
    print(json.dumps({"user": user, "server_uid": server_uid, "uid": os.getuid(), "pid": pid}))
    """
)


def _interpreter_for(account: pwd.struct_passwd) -> tuple[str, str] | None:
    """(python, extra site dir) the unprivileged account can run, or None."""
    venv_site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    system = shutil.which(
        f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin"
    )
    # The venv's interpreter first; when it links into a directory the account cannot reach
    # (here: pyenv under 0700 /root), the system interpreter of the same version plus the venv's
    # packages runs the same code.
    candidates = [(sys.executable, "")] + ([(system, str(venv_site))] if system else [])
    for python, extra in candidates:
        try:
            probe = subprocess.run(
                [python, "-c", "pass"],
                user=account.pw_uid,
                group=account.pw_gid,
                extra_groups=[],
                capture_output=True,
                check=False,
                cwd="/",
            )
        except PermissionError:
            continue
        if probe.returncode == 0:
            return python, extra
    return None


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run a child as another, unprivileged user")
def test_works_as_an_ordinary_user() -> None:
    account = pwd.getpwnam("nobody")
    found = _interpreter_for(account)
    if found is None:
        pytest.skip("no Python interpreter here that user nobody may execute")
    python, extra_site = found
    home = Path(tempfile.mkdtemp(prefix="pulse-ordinary-"))
    try:
        os.chown(home, account.pw_uid, account.pw_gid)
        script = home / "ordinary.py"
        script.write_text(ORDINARY_SCRIPT)
        os.chown(script, account.pw_uid, account.pw_gid)
        data = home / ".pulse"
        result = subprocess.run(
            [python, str(script), str(REPO), str(data), extra_site],
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
            env={"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        # No user switching: the server ran as the caller, and was stopped.
        assert report["uid"] == account.pw_uid
        assert report["server_uid"] == account.pw_uid
        assert report["user"] == "postgres"
        assert not running(report["pid"])
        assert stat.S_IMODE((data / "postgres-password").stat().st_mode) == 0o600
        assert (data / "postgres").stat().st_uid == account.pw_uid
    finally:
        shutil.rmtree(home, ignore_errors=True)
