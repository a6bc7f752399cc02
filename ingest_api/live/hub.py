"""The live hub of one API process: LISTEN, coalesce, compute what changed, fan out.

The database announces every committed change of a run on `pulse_runs` with the run's id and
its pipeline's (sql/triggers/runs_notify_v03.sql). Each process LISTENs on one dedicated
connection, so it hears ingests taken by any process, and gathers what it hears. Once per
tick, for each distinct subscription (window + filters) that has clients, it brings that
subscription's summary up to the tick's time and hands the same serialized message to every
client of it: database work grows with subscriptions and changes, never with viewers. Each
client has a bounded queue drained by its own sender task, so a slow client only ever delays
itself; when its queue overflows it is closed with 1013.

A subscription's summary is kept between ticks (analytics.incremental.LiveSummary): a tick
recomputes only the pipelines it heard of and those a window edge passed, so its cost follows
the changes, not the history or the number of pipelines. Every figure it sends is exact as of
the `as_of` it carries. A tick reads one repeatable-read snapshot whose now() is that `as_of`;
after taking it, a round trip on the listening connection (the barrier) collects every
notification of a change committed before it, since the server sends a listener's pending
notifications before it answers. Changes heard at the barrier may be newer than the snapshot,
so they are processed again the next tick.

GET /api/metrics/summary is served the same way (summary_now): the subscription's summary,
kept for KEEP_SEC after the last ask whether or not a client watches it, advanced over a
snapshot of its own past a barrier of its own, so an answer holds every write acknowledged
before the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

import psycopg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

import analytics
from analytics.incremental import Figures, LiveSummary, edge_crossings
from analytics.models import RunOut
from ingest_api import telemetry
from ingest_api.db import libpq_url
from ingest_api.live import messages

log = logging.getLogger("pulse.live")

CHANNEL = "pulse_runs"
# A writer that changes runs in bulk without a notification per run (a bulk import) sends this:
# every subscription's figures are recomputed whole.
RESYNC_PAYLOAD = "*"
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013
# How long a closing client gets to take its close frame before the connection is dropped.
CLOSE_TIMEOUT_SEC = 10.0
LISTEN_LIVENESS_SEC = 5.0
# How long a tick waits for the listener's barrier before it treats what it heard as unknown.
BARRIER_TIMEOUT_SEC = 5.0
# How long a summary asked for through GET /api/metrics/summary is kept after the last ask.
KEEP_SEC = 300.0
# How often a subscription's figures are also recomputed whole and compared (_Plan.audit), one
# subscription per tick at most: a whole computation takes 20-50 ms at 1M runs and 70-220 ms
# at 10M, which 16 subscriptions due at once would add to one tick.
FULL_RECOMPUTE_SEC = 60.0
# Capped low: a refused connect costs nothing, and with 5 s the live figures came back up to
# 5 s after the database did (bench/faults.py).
RECONNECT_BACKOFF_SEC = (0.2, 1.0)


@dataclass(frozen=True)
class Subscription:
    """What a client watches: the summary's window and filters."""

    minutes: int
    pipeline: str | None
    branch: str | None

    def matches(self, run: RunOut) -> bool:
        return (self.pipeline is None or run.pipeline == self.pipeline) and (
            self.branch is None or run.branch == self.branch
        )


class Client:
    """One WebSocket: a bounded queue of serialized messages and the task that sends them."""

    def __init__(self, websocket: WebSocket, subscription: Subscription, queue_size: int):
        self.websocket = websocket
        self.subscription = subscription
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self.needs_snapshot = True
        self.last_offered = time.monotonic()
        self.close_code: int | None = None
        self.close_reason = ""
        self._closing = asyncio.Event()
        self.done = asyncio.Event()

    def offer(self, message: str) -> None:
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            telemetry.live_dropped.inc()
            log.warning("closing a live client too slow to keep up (%s)", self.subscription)
            self.close(TRY_AGAIN_LATER, "too slow: messages arrive faster than they are read")
        self.last_offered = time.monotonic()

    def close(self, code: int, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._closing.set()

    async def run(self) -> None:
        """Send what is queued until the client leaves or is closed."""
        sender = asyncio.create_task(self._send())
        receiver = asyncio.create_task(self._receive())
        closing = asyncio.create_task(self._closing.wait())
        tasks = (sender, receiver, closing)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            client_left = receiver.done() or sender.done()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.close_code is not None and not client_left:
            # Written once the client reads what came before; a client that stays stuck is
            # dropped after the timeout (the transport closes when the handler returns).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.websocket.close(self.close_code, self.close_reason), CLOSE_TIMEOUT_SEC
                )

    async def _send(self) -> None:
        while True:
            await self.websocket.send_text(await self.queue.get())

    async def _receive(self) -> None:
        # Clients have nothing to say; reading notices when they leave.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return


class LiveHub:
    def __init__(
        self,
        *,
        database_url: str,
        sessions: sessionmaker[Session],
        spare_sessions: sessionmaker[Session],
        on_reconnect: Callable[[], Awaitable[object]],
        tick_sec: float,
        queue_size: int,
        heartbeat_sec: float,
        refresh_sec: float,
    ):
        self._database_url = libpq_url(database_url)
        self._sessions = sessions  # the hub's own connection (make_live_engine)
        self._spare_sessions = spare_sessions  # the API's pool: summaries made on the side
        self._on_reconnect = on_reconnect
        self._tick_sec = tick_sec
        self._queue_size = queue_size
        self._heartbeat_sec = heartbeat_sec
        self._refresh_sec = refresh_sec
        self._subscriptions: dict[Subscription, set[Client]] = {}
        # What was heard and no tick has taken in yet: run id -> its pipeline's id.
        self._changed: dict[int, int] = {}
        self._resync = False
        self._listening = False
        self._last_metrics: dict[Subscription, float] = {}
        self._summaries: dict[Subscription, LiveSummary] = {}
        # Per subscription: pipelines whose runs changed since its summary's as_of (None:
        # unknown, recompute every pipeline).
        self._pending: dict[Subscription, set[int] | None] = {}
        self._last_full: dict[Subscription, float] = {}
        # Subscriptions asked for through GET /api/metrics/summary: when last asked. Their
        # summaries are kept (and their pending changes gathered) for KEEP_SEC after that,
        # watched over a WebSocket or not.
        self._asked: dict[Subscription, float] = {}
        self._making: set[Subscription] = set()
        # A tick and a GET's advance never interleave: both read and reset what was heard and
        # the summaries' pending changes, and a summary is advanced by one thread at a time.
        self._lock = asyncio.Lock()
        self._barrier_wanted = asyncio.Event()
        self._barriers: list[asyncio.Future[None]] = []
        self._last_as_of: datetime | None = None
        self.stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        # Counters for the benchmark (bench/live.py) and the tests.
        self.summaries_computed = 0
        self.messages_offered = 0

    def stats(self) -> dict[str, int | bool]:
        return {
            "listening": self._listening,
            "tick_ms": round(self._tick_sec * 1000),
            "clients": sum(len(group) for group in self._subscriptions.values()),
            "subscriptions": len(self._subscriptions),
            "summaries_computed": self.summaries_computed,
            "messages_offered": self.messages_offered,
        }

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="live-listen"),
            asyncio.create_task(self._tick_forever(), name="live-tick"),
        ]

    async def stop(self) -> None:
        """Close every client with 1001 (going away), then stop listening."""
        self.stopping = True
        clients = [c for group in self._subscriptions.values() for c in group]
        for client in clients:
            client.close(GOING_AWAY, "server shutting down")
        if clients:
            await asyncio.wait(
                [asyncio.create_task(c.done.wait()) for c in clients],
                timeout=CLOSE_TIMEOUT_SEC + 1,
            )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task the hub keeps a reference to until it ends."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def serve(self, websocket: WebSocket, subscription: Subscription) -> None:
        """Serve one accepted WebSocket until it leaves or is closed."""
        client = Client(websocket, subscription, self._queue_size)
        if self.stopping:
            client.close(GOING_AWAY, "server shutting down")
        self._subscriptions.setdefault(subscription, set()).add(client)
        telemetry.live_clients.inc()
        try:
            await client.run()
        finally:
            telemetry.live_clients.dec()
            group = self._subscriptions.get(subscription)
            if group is not None:
                group.discard(client)
                if not group:
                    del self._subscriptions[subscription]
                    self._last_metrics.pop(subscription, None)
                    if subscription not in self._asked:
                        self._forget(subscription)
            client.done.set()

    def _forget(self, subscription: Subscription) -> None:
        self._summaries.pop(subscription, None)
        self._pending.pop(subscription, None)
        self._last_full.pop(subscription, None)

    # -- listening ----------------------------------------------------------------------------

    def _heard(self, note: psycopg.Notify) -> None:
        if note.payload == RESYNC_PAYLOAD:
            self._resync = True
            return
        run, _, pipeline = note.payload.partition(":")
        try:
            self._changed[int(run)] = int(pipeline)
        except ValueError:
            # Not what runs_notify v03 sends: what changed is unknown.
            self._resync = True

    async def _listen(self) -> None:
        backoff = RECONNECT_BACKOFF_SEC[0]
        was_lost = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._database_url, autocommit=True, application_name="pipeline-pulse-live"
                )
                async with conn:
                    await conn.execute(f"listen {CHANNEL}")
                    if was_lost:
                        telemetry.listener_reconnects.inc()
                        await self._on_reconnect()
                    # Changes made while we were not listening are unknown: everyone gets a
                    # fresh snapshot on the next tick.
                    self._resync = True
                    self._listening = True
                    backoff = RECONNECT_BACKOFF_SEC[0]
                    log.info("listening for run changes")
                    while True:
                        await self._hear_until_barrier(conn)
                        # The barriers asked for before this round trip: the server sends what
                        # it has for a listener before it answers, so every change committed
                        # before the statement is heard once it returns (psycopg keeps them for
                        # notifies()). A vanished server fails here.
                        waiting, self._barriers = self._barriers, []
                        self._barrier_wanted.clear()
                        await conn.execute("select 1")
                        async for note in conn.notifies(timeout=0):
                            self._heard(note)
                        _release(waiting, None)
            except (psycopg.Error, OSError) as exc:
                if self._listening:
                    log.warning("lost the database connection (%s); reconnecting", exc)
                self._listening = False
                was_lost = True
                waiting, self._barriers = self._barriers, []
                _release(waiting, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_BACKOFF_SEC[1])

    async def _hear_until_barrier(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Take notifications until a tick asks for a barrier or the liveness period ends."""

        async def hear() -> None:
            async for note in conn.notifies():
                self._heard(note)

        hearing = asyncio.create_task(hear())
        wanted = asyncio.create_task(self._barrier_wanted.wait())
        try:
            await asyncio.wait(
                (hearing, wanted), timeout=LISTEN_LIVENESS_SEC, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            # Cancelling the wait for the socket leaves an idle connection as it was.
            wanted.cancel()
            hearing.cancel()
            (outcome,) = await asyncio.gather(hearing, return_exceptions=True)
            await asyncio.gather(wanted, return_exceptions=True)
        if isinstance(outcome, Exception):
            raise outcome

    async def _barrier(self) -> bool:
        """Wait until every change committed before now has been heard; False when that cannot
        be known (not listening)."""
        if not self._listening:
            return False
        barrier: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers.append(barrier)
        self._barrier_wanted.set()
        try:
            await asyncio.wait_for(barrier, BARRIER_TIMEOUT_SEC)
        except (ConnectionError, TimeoutError):
            return False
        return True

    # -- the tick -----------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            # A steady cadence: the tick's own work does not stretch the period; a tick that
            # overruns is followed by the next at once, never by a catch-up burst.
            next_tick = max(next_tick + self._tick_sec, loop.time())
            await asyncio.sleep(next_tick - loop.time())
            try:
                with (
                    telemetry.live_ticks.time() if self._subscriptions else contextlib.nullcontext()
                ):
                    async with self._lock:
                        await self._tick()
            except (SQLAlchemyError, psycopg.Error) as exc:
                log.warning("live update postponed: the database is unavailable (%s)", exc)
            except Exception:
                # A bug must not end live updates for good: `_tick` has put back what it heard
                # and marked every summary for a whole recomputation.
                log.exception("live update failed; every summary is recomputed next tick")

    def _database_now(self) -> datetime:
        """The database's clock, read in a transaction that commits: a rollback would make
        psycopg forget the tick's prepared statements on that pooled connection."""
        with self._sessions() as session:
            now = analytics.database_now(session)
            session.commit()
            return now

    async def _tick(self) -> None:
        now = time.monotonic()
        for subscription, asked in list(self._asked.items()):
            if now - asked >= KEEP_SEC:
                del self._asked[subscription]
                if subscription not in self._subscriptions:
                    self._forget(subscription)
        if not (self._subscriptions or self._asked):
            self._changed.clear()
            return
        due = {
            subscription
            for subscription, group in self._subscriptions.items()
            if now - self._last_metrics.get(subscription, float("-inf")) >= self._refresh_sec
            or any(c.needs_snapshot for c in group)
        }
        if not (self._changed or self._resync or due):
            await self._heartbeats()
            return
        heard, self._changed = self._changed, {}
        resync, self._resync = self._resync, False
        try:
            await self._tick_on(heard, resync, now)
        except BaseException:
            self._changed = heard | self._changed
            self._resync |= resync
            # What each summary had yet to take in may be lost with the tick: recompute whole.
            self._pending = dict.fromkeys(self._pending)
            raise
        await self._heartbeats()

    async def _tick_on(self, heard: dict[int, int], resync: bool, now: float) -> None:
        """One tick over one snapshot: read the changed runs, advance the summaries, send."""
        session = await asyncio.to_thread(self._sessions)
        try:
            as_of = await asyncio.to_thread(_snapshot, session)
            # Changes heard at the barrier may be newer than the snapshot: used now and again
            # next tick, when the snapshot surely holds them.
            heard_all = heard.copy()
            if await self._barrier():
                heard_all |= self._changed
            else:
                resync = True
            # The runs themselves only go to clients (summaries asked for over REST alone
            # need just their pipelines).
            runs = (
                await asyncio.to_thread(analytics.runs_by_id, session, heard_all.keys())
                if self._subscriptions
                else []
            )
            # Recomputing a pipeline is right whether or not the snapshot holds its change.
            changed = set(heard_all.values())
            # A deleted run has no row to show: clients are told its id. Only ids heard
            # before the snapshot are surely committed in it.
            deleted = sorted(heard.keys() - {run.id for run in runs})
            everything = resync
            for subscription in self._subscriptions.keys() | self._asked.keys():
                pending = self._pending.get(subscription, set())
                self._pending[subscription] = (
                    None if everything or pending is None else pending | changed
                )
            if deleted:
                gone = messages.runs_deleted(deleted, as_of)
                for group in self._subscriptions.values():
                    for client in group:
                        if not client.needs_snapshot:
                            self._offer(client, gone)

            # The changed runs go out first (they are read already); then the figures, once
            # per subscription. A client still waiting for its first summary gets that first.
            plans: list[_Plan] = []
            audited = False
            for subscription, group in self._subscriptions.items():
                matched = [run for run in runs if subscription.matches(run)]
                if matched:
                    changes = messages.runs_update(matched, as_of)
                    for client in group:
                        if not client.needs_snapshot:
                            self._offer(client, changes)
                stale = (
                    now - self._last_metrics.get(subscription, float("-inf")) >= self._refresh_sec
                )
                dirty = everything or stale or bool(matched)
                if dirty or any(c.needs_snapshot for c in group):
                    summary = self._summaries.setdefault(
                        subscription,
                        LiveSummary(
                            subscription.minutes, subscription.pipeline, subscription.branch
                        ),
                    )
                    pending = self._pending.pop(subscription)
                    self._pending[subscription] = set()
                    last_full = self._last_full.get(subscription, float("-inf"))
                    audit = not audited and now - last_full >= FULL_RECOMPUTE_SEC
                    audited |= audit
                    if audit or pending is None:
                        self._last_full[subscription] = now
                    plans.append(_Plan(subscription, dirty, summary, pending, audit))

            results = await asyncio.to_thread(_advance_all, session, plans, as_of)
            if not any(isinstance(result, BaseException) for result in results):
                await asyncio.to_thread(session.commit)
        finally:
            await asyncio.to_thread(session.close)

        for plan, result in zip(plans, results, strict=True):
            subscription, dirty = plan.subscription, plan.dirty
            if isinstance(result, BaseException):
                # Recomputed whole next tick.
                self._pending[subscription] = None
                self._resync = True
                log.warning("live summary failed (%s)", result)
                continue
            self.summaries_computed += 1
            telemetry.summaries_computed.inc()
            members = list(self._subscriptions.get(subscription, ()))
            update = messages.metrics_update_json(result.as_of, result.payload_json)
            for client in members if dirty else [c for c in members if c.needs_snapshot]:
                client.needs_snapshot = False
                self._offer(client, update)
            if dirty:
                self._last_metrics[subscription] = now
            self._last_as_of = result.as_of

    async def summary_now(self, subscription: Subscription) -> Figures | None:
        """The figures of `subscription` as of now, for GET /api/metrics/summary: its kept
        summary (made on the first ask) advanced over one snapshot, as a tick does, by the
        changes heard and the edges passed since. Everything committed before the call is in
        them (the barrier). None when the hub cannot vouch for what it heard (not listening):
        the caller computes afresh."""
        if not self._listening:
            return None
        async with self._lock:
            self._asked[subscription] = time.monotonic()
            summary = self._summaries.get(subscription)
            if summary is None or summary.figures is None:
                # Not kept yet: the caller answers afresh (20-70 ms at 10M runs) while the
                # summary to keep is made on the side (0.1-0.2 s), off the hub's lock.
                if subscription not in self._making:
                    self._making.add(subscription)
                    # What changes from here on is gathered for it (it is asked for now).
                    self._pending.setdefault(subscription, set())
                    self.background(self._make(subscription))
                return None
            # Until this advance succeeds, what the summary has yet to take in is unknown.
            pending, self._pending[subscription] = self._pending.get(subscription, set()), None
            try:
                session, as_of = await asyncio.to_thread(_open_snapshot, self._sessions)
            except (SQLAlchemyError, psycopg.Error):
                return None
            if not await self._barrier():
                await asyncio.to_thread(session.close)
                return None
            # Heard and not yet taken in by a tick (which takes them in again: harmless); a
            # resync not yet taken in (a bulk import, a lost listener) means everything.
            if pending is not None and not self._resync:
                pending = pending | set(self._changed.values())
            else:
                pending = None
            try:
                figures = await asyncio.to_thread(
                    _advance_and_close, session, summary, pending, as_of
                )
            except (SQLAlchemyError, psycopg.Error, ValueError):
                # Recomputed whole next time; this answer is computed afresh.
                return None
            self._pending[subscription] = set()
            return figures

    async def _make(self, subscription: Subscription) -> None:
        """Make `subscription`'s summary whole over a snapshot of its own, then keep it with
        the pipelines changed since it was asked for (a superset of those changed since the
        snapshot) pending."""
        summary = LiveSummary(subscription.minutes, subscription.pipeline, subscription.branch)
        try:
            await asyncio.to_thread(_make_whole, self._spare_sessions, summary)
        except (SQLAlchemyError, psycopg.Error, ValueError) as exc:
            log.warning("could not make the summary of %s (%s)", subscription, exc)
            self._making.discard(subscription)
            return
        async with self._lock:
            self._making.discard(subscription)
            # Unless a tick made one meanwhile (a client subscribed) or it was let go.
            if subscription not in self._summaries and subscription in self._pending:
                self._summaries[subscription] = summary

    async def _heartbeats(self) -> None:
        now = time.monotonic()
        quiet = [
            client
            for group in self._subscriptions.values()
            for client in group
            if not client.needs_snapshot and now - client.last_offered >= self._heartbeat_sec
        ]
        if not quiet:
            return
        # While we listen, nothing has changed up to the database's "now"; otherwise we only
        # know the time of the last figures we sent.
        as_of = await asyncio.to_thread(self._database_now) if self._listening else self._last_as_of
        if as_of is None:
            return
        beat = messages.heartbeat(as_of)
        for client in quiet:
            self._offer(client, beat)

    def _offer(self, client: Client, message: str) -> None:
        client.offer(message)
        self.messages_offered += 1


def _release(barriers: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for barrier in barriers:
        if barrier.done():
            continue
        if error is None:
            barrier.set_result(None)
        else:
            barrier.set_exception(ConnectionError(str(error)))


def _snapshot(session: Session) -> datetime:
    """Start a tick's repeatable-read transaction (make_live_engine): its first statement takes
    the snapshot every read of the tick sees, and its now() is the time they all describe. A
    tick ends with a commit: a rollback would make psycopg forget its prepared statements."""
    return analytics.database_now(session)


def _open_snapshot(sessions: sessionmaker[Session]) -> tuple[Session, datetime]:
    session = sessions()
    try:
        return session, _snapshot(session)
    except BaseException:
        session.close()
        raise


def _make_whole(sessions: sessionmaker[Session], summary: LiveSummary) -> None:
    with sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        summary.advance(session, None, analytics.database_now(session))


def _advance_and_close(
    session: Session, summary: LiveSummary, pending: set[int] | None, as_of: datetime
) -> Figures:
    try:
        figures = summary.advance(session, pending, as_of)
        session.commit()
        return figures
    finally:
        session.close()


@dataclass
class _Plan:
    """One subscription's part of a tick."""

    subscription: Subscription
    dirty: bool  # its clients all get the figures (else only those waiting for a first)
    summary: LiveSummary
    pending: set[int] | None  # pipelines changed since the summary's as_of (None: unknown)
    # Recompute whole as well, and say so if the incremental figures differed: should a
    # change ever slip past the incremental path, it is mended (and logged) within
    # FULL_RECOMPUTE_SEC and a few ticks.
    audit: bool


def _advance_all(
    session: Session, plans: list[_Plan], as_of: datetime
) -> list[Figures | BaseException]:
    try:
        crossings = edge_crossings(
            session, [plan.summary for plan in plans if plan.pending is not None], as_of
        )
    except (SQLAlchemyError, psycopg.Error) as exc:
        return [exc for _ in plans]
    results: list[Figures | BaseException] = []
    for plan in plans:
        # The first advance of a summary is whole already.
        audit = plan.audit and plan.pending is not None and plan.summary.figures is not None
        try:
            figures = plan.summary.advance(session, plan.pending, as_of, crossings)
            if audit:
                whole = plan.summary.advance(session, None, as_of)
                if whole.payload_json != figures.payload_json:
                    log.warning(
                        "live figures of %s as of %s differed from a whole recomputation,"
                        " now sent: %s",
                        plan.subscription,
                        as_of.isoformat(),
                        _difference(figures.payload_json, whole.payload_json),
                    )
                figures = whole
            results.append(figures)
        except (SQLAlchemyError, psycopg.Error, ValueError) as exc:
            results.append(exc)
    return results


def _difference(was: str, now: str, context: int = 60) -> str:
    """Where two JSON texts first differ, with a little of each around it."""
    at = next((i for i, (a, b) in enumerate(zip(was, now, strict=False)) if a != b), None)
    at = min(len(was), len(now)) if at is None else at
    start = max(0, at - context)
    return f"at {at}: {was[start : at + context]!r} -> {now[start : at + context]!r}"


def close_clients_first_on_signals(hub: LiveHub) -> None:
    """On SIGINT/SIGTERM, close the hub's clients with 1001 before the server shuts down.

    uvicorn's shutdown closes open WebSockets with 1012 ("service restart") before the
    application hears of it, so its signal handlers (installed with signal.signal before the
    lifespan starts, in every worker process) are wrapped: stop the hub, then hand the signal
    on. Outside the main thread (a server run in a test thread) there are no handlers to wrap.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        server_handler = signal.getsignal(sig)
        if not callable(server_handler):
            continue

        async def stop_then(
            handler: Callable[[int, FrameType | None], Any], signum: int, frame: FrameType | None
        ) -> None:
            await hub.stop()
            handler(signum, frame)

        def on_signal(
            signum: int,
            frame: FrameType | None,
            handler: Callable[[int, FrameType | None], Any] = server_handler,
        ) -> None:
            if hub.stopping:  # a second Ctrl-C: straight to the server (force quit)
                handler(signum, frame)
                return
            hub.stopping = True
            loop.call_soon_threadsafe(lambda: hub.background(stop_then(handler, signum, frame)))

        signal.signal(sig, on_signal)
