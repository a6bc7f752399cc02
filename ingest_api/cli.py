"""The `pulse` command: run the system, the API alone, migrations, demo data, tokens, psql."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import make_url, text
from sqlalchemy.orm import sessionmaker

from ingest_api import embedded_pg, migrate
from ingest_api.alerts.settings import describe_alerts, write_alert_settings
from ingest_api.config import (
    Settings,
    get_settings,
    read_token_file,
    settings_problems,
    write_new_token,
)
from ingest_api.db import libpq_url, make_engine
from ingest_api.processes import answers, exit_with_parent, wait_ready
from ingest_api.supervisor import Child, ServerWatch, child_env, python_module
from ingest_api.ui import is_built as ui_is_built

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ingest_api.runs.schemas import RunEvent

app = typer.Typer(
    help="Pipeline Pulse: CI/CD pipeline health, live.",
    no_args_is_help=True,
    add_completion=False,
)
runs_app = typer.Typer(
    help="The stored runs: remove them by pipeline, source or age.", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")
alerts_app = typer.Typer(
    help='Alert mail: check the SMTP set-up (README "Alerts").', no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")
# soft_wrap: a message is never broken inside a command or URL it names (someone copies those);
# the terminal wraps long lines.
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# `pulse api`'s pid, for its uvicorn workers (api_worker_app).
API_PARENT_ENV = "PULSE_API_PARENT_PID"
# Where the API workers (and `pulse up`'s worker) write their Prometheus figures for GET
# /metrics to add up (ingest_api/telemetry.py). Set before prometheus-client is imported, which
# is why this module names the variable rather than importing telemetry.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Shutdown(Exception):
    """Ctrl-C, SIGTERM or a closed terminal (SIGHUP): stop everything we started, in order."""


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    _stopping()
    if signum == signal.SIGHUP:
        _leave_terminal()
    raise Shutdown


def _stopping() -> None:
    """From here on a stop signal waits for the orderly stop under way: a hangup brings more
    signals, and a second Ctrl-C must not cut the database's shutdown short (SIGKILL still does,
    and PDEATHSIG stops the rest then)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _already_stopping)


def _already_stopping(signum: int, frame: FrameType | None) -> None:
    """The orderly stop is already under way."""


def _leave_terminal() -> None:
    """Writes to a hung-up terminal fail (EIO), which would end the stop in a traceback: point
    stdout and stderr at /dev/null if they went to a terminal. A log file or pipe goes on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with suppress(OSError):
                # Not isatty(): a hung-up terminal fails its ioctls, so it no longer looks like one.
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@dataclass(frozen=True)
class Database:
    url: str
    kind: str  # "embedded" or "external"
    server: embedded_pg.EmbeddedPostgres | None = None  # when we run it ourselves


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


@contextmanager
def _database(settings: Settings, *, start: bool, join: bool = True) -> Iterator[Database]:
    """DATABASE_URL if set; else (when `join`) the embedded server a running `pulse up` owns;
    else (when `start`) an embedded server of our own for the duration of the block."""
    if settings.database_url:
        # `pulse up` hands its children the embedded server's URL and says so.
        yield Database(settings.database_url, settings.database_kind)
        return
    url = embedded_pg.attach(settings.data_dir) if join else None
    if url is not None:
        yield Database(url, "embedded")
        return
    if not start:
        raise _fail(
            f"no database: nothing runs for {settings.data_dir}. Start it with `pulse up`, "
            "or set DATABASE_URL."
        )
    server = embedded_pg.EmbeddedPostgres(settings.data_dir)
    # The server stops too when a stop signal interrupts its start.
    try:
        try:
            url = server.start()
        except embedded_pg.EmbeddedServerError as exc:
            raise _fail(str(exc)) from None
        yield Database(url, "embedded", server)
    finally:
        server.stop()


def _migrate(url: str) -> None:
    try:
        migrate.upgrade(url)
    except migrate.PreBaselineDatabase as exc:
        raise _fail(str(exc)) from None


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        for problem in settings_problems(exc):
            err.print(f"[red]error:[/red] {escape(problem)}")
        raise typer.Exit(2) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _workers(settings: Settings) -> int:
    return settings.api_workers or os.cpu_count() or 1


def _wait_ready(url: str, child: Child, what: str, port: int, timeout: float = 90.0) -> None:
    """Poll `url` until it answers 200; exit 1 if `child` (which serves it) dies or times out."""
    process = child.process
    if process is None or not wait_ready(process, lambda: answers(url), timeout, interval=0.2):
        raise _fail(f"{what} did not come up on port {port} (is the port in use?)", code=1)


def _banner(settings: Settings, db: Database, new_token: str | None) -> None:
    api = settings.local_api_url
    where = (
        f"embedded PostgreSQL in {settings.data_dir / 'postgres'}"
        if db.kind == "embedded"
        else f"{make_url(db.url).render_as_string(hide_password=True)}"
    )
    console.print("\n[bold green]Pipeline Pulse is up.[/bold green]\n")
    if ui_is_built():
        console.print(f"  Dashboard  {settings.ui_url}")
    console.print(f"  Trends     {settings.streamlit_url}  (Streamlit)")
    console.print(f"  API        {api}")
    console.print(f"  API docs   {api}/docs")
    console.print(f"  Live       {api.replace('http', 'ws', 1)}/ws/metrics")
    console.print(f"  Metrics    {api}/metrics  (Prometheus)")
    console.print(
        f"  Worker     refreshes the daily history every {settings.history_refresh_sec:g} s"
        " (`pulse sql-role NAME` for SQL readers)"
    )
    console.print(f"  Database   {where}  (`pulse psql` opens a shell)")
    console.print(f"  Demo mode  {'on' if settings.demo else 'off'}")
    for n, line in enumerate(describe_alerts(settings)):
        console.print(f"  {'Alerts' if n == 0 else '':<10} {line}", markup=False)
    if new_token:
        console.print("\n  Ingest token (shown once; `pulse token` prints it again):")
        console.print(f"  [bold]{new_token}[/bold]")
    elif settings.ingest_token:
        console.print("\n  Ingest token: from PULSE_INGEST_TOKEN")
    else:
        console.print("\n  Ingest token: `pulse token` prints it")
    token_expr = '"$PULSE_INGEST_TOKEN"' if settings.ingest_token else '"$(.venv/bin/pulse token)"'
    console.print("\nSend a run:\n")
    console.print(
        f"  curl -X POST {api}/api/events/run \\\n"
        f'    -H "Authorization: Bearer {token_expr[1:-1]}" \\\n'
        '    -H "Content-Type: application/json" \\\n'
        '    -d \'{"pipeline": "web", "status": "success", "duration_sec": 42,'
        ' "branch": "main", "commit": "5184f9c", "triggered_by": "octocat"}\'',
        soft_wrap=True,
    )
    console.print(f"\n  curl {api}/api/metrics/summary\n")
    console.print("Press Ctrl-C to stop.\n")


@app.command()
def up() -> None:
    """Run the whole system: database (embedded unless DATABASE_URL), migrations, API, worker
    and dashboard."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Whatever the disposition we inherit: a script's `pulse up &` starts with SIGINT ignored,
    # and Ctrl-C must still stop it.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop_signal)
    try:
        # Figures start from zero with each `pulse up`, as a restarted server's do. Not in the
        # data dir: prometheus-client's mmap'd files there killed every API worker (SIGBUS)
        # when the data dir's disk filled up (bench/faults.py, "disk full").
        with _database(settings, start=True, join=False) as db, _metrics_dir():
            _supervise(settings, db)
    except Shutdown:
        pass  # it came while the database started, and `_database` has stopped it
    console.print("Stopped.")


def _supervise(settings: Settings, db: Database) -> None:
    """Migrate, start the children and restart crashed ones until a stop signal; stop them
    (before the database, which the caller stops)."""
    children: list[Child] = []
    try:
        console.print("Migrating the database …")
        _migrate(db.url)
        write_alert_settings(db.url, settings, command="up")
        new_token = None
        if not settings.ingest_token and read_token_file(settings.token_file) is None:
            new_token = write_new_token(settings.token_file)
        # The children inherit METRICS_DIR_ENV from `up`'s _metrics_dir().
        env = child_env(
            DATABASE_URL=db.url,
            PULSE_DATABASE_KIND=db.kind,
            PULSE_DATA_DIR=str(settings.data_dir.resolve()),
        )

        def start(name: str, command: str) -> Child:
            child = Child(name, python_module("ingest_api", command), env)
            children.append(child)
            child.start()
            return child

        api = start("api", "api")
        _wait_ready(f"{settings.local_api_url}/health", api, "the API", settings.api_port)
        start("worker", "worker")
        if ui_is_built():
            dashboard = start("dashboard", "ui")
            _wait_ready(
                f"{settings.ui_url}/config.json", dashboard, "the dashboard", settings.ui_port
            )
        else:
            err.print("[yellow]The dashboard is not built (`make up` builds it).[/yellow]")
        trends = start("trends", "streamlit")
        _wait_ready(
            f"{settings.streamlit_url}/_stcore/health",
            trends,
            "the Streamlit trends app",
            settings.streamlit_port,
        )
        _banner(settings, db, new_token)
        watch = ServerWatch(db.server) if db.server is not None else None
        while True:
            if watch is not None and (news := watch.poll()) is not None:
                err.print(f"[yellow]{escape(news)}[/yellow]")
                server = watch.server
                if server.pid is not None and server.url != env["DATABASE_URL"]:
                    # Its old port was taken meanwhile: the children start again with the URL.
                    env["DATABASE_URL"] = server.url
                    for child in children:
                        child.stop()
            for child in children:
                code = child.poll()
                if code is not None:
                    err.print(
                        f"[yellow]{child.name} exited with {code}; restarting in "
                        f"{child.backoff:.0f} s[/yellow]"
                    )
            time.sleep(0.5)
    except Shutdown:
        console.print("\nStopping …")
    finally:
        _stopping()
        for child in reversed(children):
            child.stop()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: PULSE_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PULSE_API_PORT.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Default: PULSE_API_WORKERS, else one per core.")
    ] = None,
) -> None:
    """Run the API alone (attaches to the embedded server `pulse up` runs, or DATABASE_URL)."""
    import uvicorn

    from ingest_api.connections import MAX_CLIENT_MESSAGE_BYTES

    settings = _settings()
    with _database(settings, start=False) as db, _metrics_dir():
        os.environ["DATABASE_URL"] = db.url
        os.environ["PULSE_DATABASE_KIND"] = db.kind
        os.environ["PULSE_DATA_DIR"] = str(settings.data_dir.resolve())
        get_settings.cache_clear()
        count = workers or _workers(settings)
        if count > 1:
            os.environ[API_PARENT_ENV] = str(os.getpid())
        else:  # one process: uvicorn serves in this one, which dies with its own parent
            os.environ.pop(API_PARENT_ENV, None)
        uvicorn.run(
            "ingest_api.cli:api_worker_app",
            factory=True,
            host=host or settings.api_host,
            port=port or settings.api_port,
            workers=count,
            # Slow-loris and per-address connection guards (ingest_api/connections.py).
            http="ingest_api.connections:GuardedHttp",
            ws_max_size=MAX_CLIENT_MESSAGE_BYTES,
            access_log=False,
            log_level="info",
            # Live messages are serialized once per tick and sent as is to every client;
            # per-connection compression would deflate the same bytes once per viewer.
            ws_per_message_deflate=False,
        )


def api_worker_app() -> FastAPI:
    """uvicorn's app factory, run in each API worker process.

    uvicorn's workers outlive a parent killed with SIGKILL: they went on serving stale code and
    held the port, so `pulse up` could never start the API again (measured: "Address already in
    use" on every restart). Each now gets SIGTERM when its parent dies and shuts down in order."""
    from ingest_api.main import create_app

    parent = os.environ.get(API_PARENT_ENV)
    if parent is not None and int(parent) != os.getpid():
        exit_with_parent(int(parent))
    return create_app()


@contextmanager
def _metrics_dir() -> Iterator[None]:
    """The directory the API's workers share their figures in: `pulse up`'s, else a new one,
    removed at exit."""
    if os.environ.get(METRICS_DIR_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="pulse-metrics-")
    os.environ[METRICS_DIR_ENV] = directory
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@app.command("streamlit")
def streamlit_command(
    port: Annotated[int | None, typer.Option(help="Default: PULSE_STREAMLIT_PORT.")] = None,
) -> None:
    """Serve the Streamlit trends app (attaches to the embedded server `pulse up` runs, or
    DATABASE_URL)."""
    import importlib.util
    from pathlib import Path

    if importlib.util.find_spec("streamlit_app") is None:
        raise _fail("the streamlit_app package is not installed (`make up` installs it)")
    # The app behind our security headers (ingest_api/trends_app.py).
    script = Path(__file__).resolve().parent / "trends_app.py"
    settings = _settings()
    with _database(settings, start=False) as db:
        # The URL travels in the environment, never on a command line others can read.
        env = child_env(DATABASE_URL=db.url, PULSE_DASHBOARD_URL=settings.dashboard_url)
        argv = python_module(
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            f"--server.address={settings.api_host}",
            f"--server.port={port or settings.streamlit_port}",
            # Streamlit otherwise sends usage statistics, and watches files to reload on edits.
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
            # Readers, not authors: no Deploy button or developer menu.
            "--client.toolbarMode=viewer",
        )
        os.execve(argv[0], argv, env)  # noqa: S606


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document (the dashboard's typed client is generated from it)."""
    import json

    from ingest_api.main import create_app

    # The document needs no database: the app is built, never started.
    settings = Settings(_env_file=None, DATABASE_URL="postgresql://unused@localhost/unused")
    print(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True))


@app.command()
def ui(
    port: Annotated[int | None, typer.Option(help="Default: PULSE_UI_PORT.")] = None,
) -> None:
    """Serve the built dashboard (frontend/dist) with a config.json naming the API."""
    import uvicorn

    from ingest_api.ui import create_ui_app

    settings = _settings()
    if not ui_is_built():
        raise _fail("the dashboard is not built: run `make up` (or `cd frontend && npm run build`)")
    uvicorn.run(
        create_ui_app(settings),
        host=settings.api_host,
        port=port or settings.ui_port,
        access_log=False,
        log_level="warning",
    )


@app.command()
def worker(
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="Seconds between refreshes. Default: PULSE_HISTORY_REFRESH_SEC."
        ),
    ] = None,
) -> None:
    """Background jobs: refresh the daily history every PULSE_HISTORY_REFRESH_SEC, one at a time."""
    import threading

    from ingest_api import worker as jobs

    settings = _settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def log(line: str) -> None:
        console.print(f"{time.strftime('%H:%M:%S')} {line}", markup=False)

    with _database(settings, start=False) as db:
        write_alert_settings(db.url, settings, command="worker")
        engine = make_engine(db.url, pool_size=1)
        every = interval or settings.history_refresh_sec
        console.print(f"Worker: refreshing the daily history every {every:g} s.")
        console.print(f"Alerts: {'; '.join(describe_alerts(settings))}.", markup=False)
        delivery = jobs.start_alert_delivery(db.url, settings, stop=stop, log=log)
        jobs.run(engine, interval_sec=every, stop=stop, log=log)
        if delivery is not None:
            # An attempt under way ends within the SMTP timeout.
            delivery.join(timeout=settings.smtp_timeout_sec + 5)
        engine.dispose()
    console.print("Worker stopped.")


@app.command()
def refresh(
    full: Annotated[
        bool, typer.Option("--full", help="Recompute every day, not only the changed ones.")
    ] = False,
) -> None:
    """Refresh the daily history now (waits for a refresh in progress)."""
    from ingest_api import worker as jobs

    settings = _settings()
    with _database(settings, start=True) as db:
        engine = make_engine(db.url, pool_size=1)
        result = jobs.refresh_history(engine, full=full, wait=True)
        engine.dispose()
    console.print(
        f"Refreshed {result.pipeline_days} pipeline-days and {result.branch_days} branch-days"
        f" (health of {result.pipelines} pipelines) in {result.elapsed_ms:.0f} ms."
    )


@app.command("sql-role")
def sql_role(
    name: Annotated[str, typer.Argument(help="The role's name: lowercase letters, digits, _.")],
    new_password: Annotated[
        bool, typer.Option("--new-password", help="Give an existing role a new password.")
    ] = False,
) -> None:
    """Create a login role that can read the reporting views and nothing else."""
    import re
    import secrets

    import psycopg
    from psycopg import sql

    from analytics.history import SQL_VIEWS
    from ingest_api.sqlfiles import READER_ROLE

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name.startswith("pg_"):
        raise _fail("the role name must be lowercase letters, digits and _ (not starting pg_)")
    if name == READER_ROLE:
        raise _fail(f"{READER_ROLE} is the group every reader joins; choose another name")
    settings = _settings()
    with (
        _database(settings, start=True) as db,
        psycopg.connect(libpq_url(db.url), autocommit=True) as conn,
    ):
        # The grants live with the group role the migrations keep (ingest_api/sqlfiles.py), so
        # a view a later migration replaces stays readable; this only makes a login in it.
        if not conn.execute("select 1 from pg_roles where rolname = %s", (READER_ROLE,)).fetchone():
            raise _fail(
                f"the reader group role {READER_ROLE} is missing: the database user that ran the "
                "migrations may not create roles; ask an administrator to create it"
            )
        role = sql.Identifier(name)
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        password = secrets.token_urlsafe(24) if new_password or not exists else None
        with conn.transaction():
            if not exists:
                conn.execute(sql.SQL("create role {} login").format(role))
            if password is not None:
                conn.execute(
                    sql.SQL("alter role {} password {}").format(role, sql.Literal(password))
                )
            # Writes fail anyway (no privilege); read-only by default says so up front.
            conn.execute(
                sql.SQL("alter role {} set default_transaction_read_only = on").format(role)
            )
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READER_ROLE), role))
        url = make_url(db.url).set(drivername="postgresql", username=name, password=password)
    console.print(f"Role {name} can read {', '.join(SQL_VIEWS)}; nothing else.")
    if password is None:
        console.print("Its password is unchanged (--new-password sets a new one).")
    else:
        console.print("Its connection URL (the password is shown once):")
        print(url.render_as_string(hide_password=False))


@app.command("migrate")
def migrate_command() -> None:
    """Apply every migration (to DATABASE_URL, or the embedded server)."""
    settings = _settings()
    with _database(settings, start=True) as db:
        _migrate(db.url)
    console.print("Database is at the latest migration.")


@app.command()
def simulate(
    count: Annotated[int, typer.Option(min=1, max=1_000_000, help="Runs to create.")] = 500,
    fail_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of failures.")] = 0.25,
    pipelines: Annotated[
        str, typer.Option(help="Comma-separated pipeline names.")
    ] = "web,api,worker,docs",
    hours: Annotated[float, typer.Option(min=0.01, help="Spread runs over past hours.")] = 24.0,
) -> None:
    """Create realistic demo runs (source "simulator") through the bulk path of `pulse import`:
    validated like the API, in one transaction, each pipeline's rollups rebuilt once."""
    from psycopg import connect

    from ingest_api.runs import bulk
    from ingest_api.simulate.service import events

    names = [p.strip() for p in pipelines.split(",") if p.strip()]
    if not names:
        raise _fail("--pipelines names no pipeline")
    settings = _settings()
    with _database(settings, start=True) as db:
        _migrate(db.url)
        with (
            connect(libpq_url(db.url), autocommit=True, options="-c jit=off") as conn,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress,
        ):
            now = conn.execute("select now()").fetchone()
            assert now is not None
            task = progress.add_task("simulating", total=count)
            rebuilding = progress.add_task("rebuilding rollups", total=None, visible=False)

            def numbered() -> Iterator[tuple[int, RunEvent | list[bulk.Problem]]]:
                runs = events(names, count=count, fail_rate=fail_rate, now=now[0], hours=hours)
                for number, event in enumerate(runs, start=1):
                    yield number, event
                    if number % 1000 == 0 or number == count:
                        progress.update(task, completed=number)

            def on_rebuild(done: int, total: int) -> None:
                progress.update(rebuilding, completed=done, total=total, visible=True)

            bulk.import_runs(conn, numbered(), on_rebuild=on_rebuild)
    console.print(f"Created {count} runs for {', '.join(names)}.")


@app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(metavar="FILE", help="JSON lines or CSV; - reads stdin.")],
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="jsonl|csv",
            help="Default: by the extension (.csv, .jsonl), else by the first character.",
        ),
    ] = None,
) -> None:
    """Load runs in bulk (the body of POST /api/events/run per line, or CSV with those
    columns), validated like the API: one refused line and nothing is written."""
    from psycopg import connect

    from ingest_api.runs import bulk

    try:
        chosen = bulk.FileFormat(file_format) if file_format else None
    except ValueError:
        raise _fail("--format is jsonl or csv") from None
    try:
        stream = bulk.open_input(file)
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    size = None if file == "-" else os.fstat(stream.fileno()).st_size
    settings = _settings()
    with stream, _database(settings, start=True) as db:
        _migrate(db.url)
        chosen = chosen or bulk.detect_format(file, bulk.peek(stream))
        with (
            connect(libpq_url(db.url), autocommit=True, options="-c jit=off") as conn,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=err,
            ) as progress,
        ):
            reading = progress.add_task("validating and loading", total=size)
            rebuilding = progress.add_task("rebuilding rollups", total=None, visible=False)

            def on_rebuild(done: int, total: int) -> None:
                progress.update(rebuilding, completed=done, total=total, visible=True)

            events = bulk.read_events(
                stream, chosen, on_bytes=lambda n: progress.advance(reading, n)
            )
            started = time.monotonic()
            try:
                result = bulk.import_runs(conn, events, on_rebuild=on_rebuild)
            except bulk.Rejected as exc:
                progress.stop()
                for problem in exc.problems:
                    err.print(str(problem), markup=False)
                if exc.more:
                    err.print(f"… and {exc.more} more refused lines.")
                raise _fail(
                    f"{len({p.line for p in exc.problems}) + exc.more} lines refused; "
                    "nothing was imported.",
                    code=1,
                ) from None
    elapsed = time.monotonic() - started
    console.print(
        f"Imported {result.lines} lines in {elapsed:.1f} s ({result.lines / elapsed:,.0f}/s): "
        f"{result.inserted} new runs, {result.repeats} applied to stored runs, "
        f"{result.pipelines} pipelines' rollups rebuilt.",
        markup=False,
    )


@app.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute every rollup from runs (after a bulk load, or to repair), one pipeline at a
    time: ingest goes on meanwhile, waiting only while its own pipeline is rebuilt."""
    settings = _settings()
    with _database(settings, start=True) as db:
        engine = make_engine(db.url, pool_size=1)
        with engine.connect() as conn:
            pipeline_ids = conn.execute(text("select id from pipelines order by id")).scalars()
            ids = list(pipeline_ids)
        started = time.monotonic()
        with Progress(
            TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("pipelines", total=len(ids))
            for pipeline_id in ids:
                with engine.begin() as conn:
                    conn.execute(text("select rebuild_rollups(:id)"), {"id": pipeline_id})
                progress.advance(task)
        engine.dispose()
    console.print(
        f"Rebuilt the rollups of {len(ids)} pipelines in {time.monotonic() - started:.1f} s."
    )


@app.command()
def token(
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace the token.")] = False,
) -> None:
    """Print the ingest token (creating one in the data dir if there is none)."""
    settings = _settings()
    if settings.ingest_token:
        if rotate:
            raise _fail("the token comes from PULSE_INGEST_TOKEN; change it there")
        print(settings.ingest_token)
        return
    current = read_token_file(settings.token_file)
    if current is not None and not rotate:
        print(current)
        return
    # Only the token itself goes to stdout (`TOKEN=$(pulse token)`); the rest to stderr.
    current = write_new_token(settings.token_file)
    path = escape(str(settings.token_file.absolute()))
    if rotate:
        err.print(f"Rotated the token in {path}: an API reading it accepts only the new one.")
    else:
        err.print(f"Created a new ingest token in {path}.")
    # Run from another directory, `pulse token` makes a token in ./.pulse that the running API
    # (reading its own data dir) rejects: say so while the mistake is one command old.
    if not settings.database_url and embedded_pg.attach(settings.data_dir) is None:
        data_dir = escape(str(settings.data_dir.absolute()))
        err.print(
            f"[yellow]warning:[/yellow] no `pulse up` runs for {data_dir}; an API started "
            "with another data dir rejects this token (set PULSE_DATA_DIR to its data dir, "
            "or run `pulse token` where `pulse up` runs)."
        )
    print(current)


@app.command("db-url")
def db_url() -> None:
    """Print the database URL (of DATABASE_URL, or of the embedded server `pulse up` runs)."""
    settings = _settings()
    with _database(settings, start=False) as db:
        print(libpq_url(db.url))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="[PSQL ARGUMENTS]...",
)
def psql(ctx: typer.Context) -> None:
    """Open psql on the database; further arguments go to psql (-c SQL runs one command)."""
    settings = _settings()
    binary = embedded_pg.default_bin_dir() / "psql"
    program = str(binary) if binary.exists() else shutil.which("psql")
    if program is None:
        raise _fail("psql is not installed")
    with _database(settings, start=False) as db:
        url = make_url(libpq_url(db.url))
        env = dict(os.environ)
        # The password travels in the environment, never on a command line others can read.
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        safe = url.set(password=None).render_as_string(hide_password=False)
        # As --dbname rather than psql's first positional argument: the caller's arguments
        # then mean what they mean to psql, in any order.
        os.execvpe(program, [program, f"--dbname={safe}", *ctx.args], env)  # noqa: S606


@runs_app.command("delete")
def runs_delete(
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's runs.")] = None,
    source: Annotated[
        str | None, typer.Option(help='Only the runs from this source (e.g. "simulator").')
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            metavar="ISO-TIME",
            help="Only the runs started before this time (ISO 8601; without a zone: UTC).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Remove without asking (for scripts).")
    ] = False,
) -> None:
    """Remove the runs matching every filter given (no filter: every run); the rollups and the
    daily history follow. Says how many, per pipeline, and asks first."""
    from ingest_api.runs.service import delete_runs

    before_at = _iso_time(before, "--before") if before is not None else None
    matching = partial(delete_runs, pipeline=pipeline, source=source, before=before_at)
    conditions = []
    if pipeline is not None:
        conditions.append(f"pipeline {pipeline}")
    if source is not None:
        conditions.append(f"source {source}")
    if before_at is not None:
        conditions.append(f"started before {before_at.isoformat()}")
    described = ", ".join(conditions)
    settings = _settings()
    with _database(settings, start=True) as db:
        _migrate(db.url)
        engine = make_engine(db.url, pool_size=1)
        try:
            # One transaction: the runs counted are the runs removed, bar those ingested
            # meanwhile (the removal reports its own count).
            with sessionmaker(engine).begin() as session:
                matched = matching(session, dry_run=True)
                total = sum(matched.values())
                if not total:
                    console.print(
                        f"No run matches ({described}); nothing to remove."
                        if described
                        else "There are no runs; nothing to remove.",
                        markup=False,
                    )
                    return
                if described:
                    console.print(f"Runs matching {described}:", markup=False)
                else:
                    removes = "would remove" if dry_run else "removes"
                    console.print(f"No filter given: this {removes} EVERY run, of every pipeline.")
                _print_counts(matched)
                if dry_run:
                    console.print("Dry run: nothing removed.")
                    return
                if not yes:
                    if not sys.stdin.isatty():
                        raise _fail(
                            f"not removing {total} runs unasked, and there is no terminal to "
                            "ask on: pass --yes to remove them."
                        )
                    question = (
                        f"Remove these {total} runs?"
                        if described
                        else f"Remove EVERY run ({total})?"
                    )
                    if not typer.confirm(question):
                        console.print("Nothing removed.")
                        raise typer.Exit(1)
                removed = matching(session, dry_run=False)
        finally:
            engine.dispose()
    rebuilt = f"; the rollups of {', '.join(removed)} are rebuilt" if removed else ""
    console.print(f"Removed {sum(removed.values())} runs{rebuilt}.", markup=False)


@alerts_app.command("test")
def alerts_test(
    to: Annotated[
        str | None, typer.Option(help="Comma-separated recipients. Default: PULSE_ALERT_TO.")
    ] = None,
) -> None:
    """Send a test mail with the current SMTP settings and print what the server answered
    (exit 0 when it took the mail, 1 when not)."""
    from ingest_api.alerts.mail import test_message
    from ingest_api.alerts.smtp import Mailer, SendFailed, hint

    settings = _settings()
    recipients = [r.strip() for r in to.split(",") if r.strip()] if to else settings.alert_to
    if not recipients:
        raise _fail("no recipient: set PULSE_ALERT_TO, or pass --to")
    sender = settings.alert_from
    if not sender:
        raise _fail("no sender: set PULSE_ALERT_FROM (or PULSE_SMTP_USER)")
    login = f" as {settings.smtp_user}" if settings.smtp_user else " without logging in"
    console.print(
        f"Sending a test mail from {sender} to {', '.join(recipients)} via "
        f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security}){login} …",
        markup=False,
    )
    mailer = Mailer(settings)
    try:
        reply = mailer.send(test_message(sender, recipients, settings.dashboard_url), recipients)
    except SendFailed as exc:
        err.print(f"[red]Not sent.[/red] The server answered: {escape(exc.detail)}")
        advice = hint(exc.detail, settings)
        if advice:
            err.print(escape(advice))
        raise typer.Exit(1) from None
    finally:
        mailer.close()
    console.print(f"[green]Sent.[/green] The server answered: {escape(str(reply))}")


def _iso_time(value: str, option: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC, as every stored time is."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"{option} must be an ISO 8601 time such as 2025-08-25T20:28:03Z or 2025-08-25 "
            f"(got {value!r})."
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _print_counts(counts: dict[str, int]) -> None:
    width = max(len(name) for name in [*counts, "total"])
    for name, count in counts.items():
        console.print(f"  {name:<{width}}  {count:>7}", markup=False)
    console.print(f"  {'total':<{width}}  {sum(counts.values()):>7}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
