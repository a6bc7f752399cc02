"""Delivering the alerts the trigger on `runs` records, from `pulse worker`, in a thread of
its own (a hung SMTP server never holds up the history refresh).

Woken by LISTEN `pulse_alerts` (the trigger notifies at commit, so a mail leaves within moments)
and by a timer for the earliest `next_attempt_at` (retries). Any number of workers may run:

- An alert is claimed in a short transaction (`for update skip locked`) that increments its
  `attempts` and moves `next_attempt_at` past the attempt's end (the SMTP timeout, which bounds
  the whole conversation, plus a margin): no other worker picks it while it is being sent, and
  no database transaction stays open during the conversation.
- The outcome is recorded only if the claim still holds (same `attempts`, still pending), and
  every attempt is kept in `alert_attempts` with the server's answer or the error, sanitised.
- A failure retries after 5 s, doubling up to 5 min, until 24 h after the alert was recorded;
  then the alert is `failed`.
- No flood: when delivery becomes possible (the thread starts, or a mail goes out after
  failures), pending alerts recorded more than 1 h before are `skipped`, not sent.

A worker that dies after the server took a mail but before recording it sends that alert again
once the claim lapses: delivery is at least once, and exactly once otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest_api.alerts.mail import Addressing, Alert, compose
from ingest_api.alerts.smtp import Mailer, SendFailed
from ingest_api.config import Settings
from ingest_api.db import libpq_url

logger = logging.getLogger("pulse.alerts")

CHANNEL = "pulse_alerts"
BACKOFF_SEC = (5.0, 300.0)
GIVE_UP_AFTER = timedelta(hours=24)
FRESH_FOR = timedelta(hours=1)
# Added to the SMTP timeout for the claim's lease: the database round trips around the
# conversation, on a busy machine.
LEASE_MARGIN_SEC = 30.0
# The longest wait without looking at the database: notices a lost LISTEN connection.
IDLE_CHECK_SEC = 5.0
RECONNECT_BACKOFF_SEC = (0.5, 10.0)

_CLAIM = """
    with next as (
        select id
        from alerts
        where state = 'pending' and next_attempt_at <= now()
        order by next_attempt_at, id
        limit 1
        for update skip locked
    )
    update alerts
    set attempts = alerts.attempts + 1,
        next_attempt_at = now() + make_interval(secs => %(lease)s)
    from next
    where alerts.id = next.id
    returning alerts.id, alerts.kind::text as kind, alerts.thread_id, alerts.created_at,
        alerts.attempts, alerts.facts, now() as claimed_at,
        coalesce(
            (select root.created_at from alerts root where root.id = alerts.thread_id),
            alerts.created_at
        ) as thread_created_at
"""
_SENT = """
    with attempt as (
        insert into alert_attempts (alert_id, attempted_at, outcome, detail)
        values (%(id)s, %(at)s, 'sent', %(detail)s)
    )
    update alerts
    set state = 'sent', sent_at = now(), last_error = null
    where id = %(id)s and attempts = %(attempts)s and state = 'pending'
"""
_FAILED = """
    with attempt as (
        insert into alert_attempts (alert_id, attempted_at, outcome, detail)
        values (%(id)s, %(at)s, 'error', %(detail)s)
    )
    update alerts
    set state = %(state)s, last_error = %(detail)s,
        next_attempt_at = now() + make_interval(secs => %(backoff)s)
    where id = %(id)s and attempts = %(attempts)s and state = 'pending'
"""
# Not the ones another worker is sending right now (their next_attempt_at is ahead).
_SKIP_STALE = """
    update alerts
    set state = 'skipped',
        last_error = 'not sent: recorded more than 1 h before mail could be delivered'
    where state = 'pending' and next_attempt_at <= now() and created_at < now() - %(fresh)s
"""
_NEXT_DUE = """
    select greatest(extract(epoch from min(next_attempt_at) - now()), 0)::float8
    from alerts where state = 'pending'
"""


@dataclass(frozen=True)
class Outcome:
    alert_id: int
    attempt: int
    sent: bool
    detail: str
    state: str  # what the alert is now: sent, pending (to retry) or failed


def backoff_sec(attempt: int) -> float:
    """The wait after failed attempt number `attempt` (1, 2, ...): 5 s, 10 s, ... 5 min."""
    return float(min(BACKOFF_SEC[0] * 2.0 ** min(attempt - 1, 30), BACKOFF_SEC[1]))


class Delivery:
    """One worker's delivery: `run()` until stopped, or its steps one by one (tests, bench)."""

    def __init__(
        self,
        database_url: str,
        settings: Settings,
        *,
        log: Callable[[str], None] = logger.info,
        mailer: Mailer | None = None,
    ):
        if not settings.alert_to:
            raise ValueError("alert delivery needs PULSE_ALERT_TO")
        self._url = libpq_url(database_url)
        self._settings = settings
        self._log = log
        self._mailer = mailer or Mailer(settings)
        self._addressing = Addressing(
            sender=settings.alert_from or f"pipeline-pulse@{settings.smtp_host}",
            recipients=settings.alert_to,
            dashboard_url=settings.dashboard_url,
        )
        self._lease_sec = settings.smtp_timeout_sec + LEASE_MARGIN_SEC
        self._failing = False
        self.ready = threading.Event()  # listening: a commit from now on wakes this worker

    def connect(self) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(
            self._url,
            autocommit=True,
            row_factory=dict_row,
            application_name="pipeline-pulse-alerts",
            options="-c timezone=UTC",
        )

    def skip_stale(self, conn: psycopg.Connection[Any]) -> int:
        skipped = conn.execute(_SKIP_STALE, {"fresh": FRESH_FOR}).rowcount
        if skipped:
            self._log(f"alerts: skipped {skipped} recorded more than 1 h before delivery")
        return skipped

    def deliver_one(self, conn: psycopg.Connection[dict[str, Any]]) -> Outcome | None:
        """Claim the most overdue alert, send it and record the outcome; None when none is due."""
        with conn.transaction():
            row = conn.execute(_CLAIM, {"lease": self._lease_sec}).fetchone()
        if row is None:
            return None
        alert = Alert(
            id=row["id"],
            kind=row["kind"],
            thread_id=row["thread_id"],
            created_at=row["created_at"],
            thread_created_at=row["thread_created_at"],
            facts=row["facts"] or {},
        )
        started = time.monotonic()
        try:
            reply = self._mailer.send(compose(alert, self._addressing), self._addressing.recipients)
        except SendFailed as exc:
            attempt = row["attempts"]
            wait = backoff_sec(attempt)
            now = row["claimed_at"] + timedelta(seconds=time.monotonic() - started)
            state = (
                "failed"
                if now + timedelta(seconds=wait) > alert.created_at + GIVE_UP_AFTER
                else "pending"
            )
            conn.execute(
                _FAILED,
                {
                    "id": alert.id,
                    "at": row["claimed_at"],
                    "detail": exc.detail,
                    "state": state,
                    "backoff": wait,
                    "attempts": attempt,
                },
            )
            self._failing = True
            retry = f"retrying in {wait:g} s" if state == "pending" else "giving up after 24 h"
            self._log(f"alert {alert.id} ({alert.kind}) not sent: {exc.detail}; {retry}")
            return Outcome(alert.id, attempt, False, exc.detail, state)
        conn.execute(
            _SENT,
            {
                "id": alert.id,
                "at": row["claimed_at"],
                "detail": str(reply),
                "attempts": row["attempts"],
            },
        )
        self._log(
            f"alert {alert.id} ({alert.kind}, {alert.facts.get('pipeline')} on "
            f"{alert.facts.get('branch')}) sent: {reply}"
        )
        if self._failing:
            # Mail goes out again after failures: what waited over an hour is not sent now.
            self._failing = False
            self.skip_stale(conn)
        return Outcome(alert.id, row["attempts"], True, str(reply), "sent")

    def deliver_due(
        self, conn: psycopg.Connection[dict[str, Any]], stop: threading.Event | None = None
    ) -> int:
        """Deliver until no alert is due; how many were attempted. The SMTP connection stays
        open across the batch and is closed after it."""
        attempted = 0
        try:
            while stop is None or not stop.is_set():
                if self.deliver_one(conn) is None:
                    break
                attempted += 1
        finally:
            self._mailer.close()
        return attempted

    def next_due_sec(self, conn: psycopg.Connection[dict[str, Any]]) -> float | None:
        row = conn.execute(_NEXT_DUE).fetchone()
        value = next(iter(row.values())) if row else None
        return float(value) if value is not None else None

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; a lost database is reconnected with backoff."""
        backoff = RECONNECT_BACKOFF_SEC[0]
        while not stop.is_set():
            try:
                with self.connect() as listen, self.connect() as work:
                    listen.execute(f"listen {CHANNEL}")
                    self.skip_stale(work)
                    self.ready.set()
                    backoff = RECONNECT_BACKOFF_SEC[0]
                    self._serve(listen, work, stop)
            except psycopg.Error as exc:
                self.ready.clear()
                self._log(f"alerts: database unavailable ({exc}); retrying in {backoff:g} s")
                stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_SEC[1])
        self._mailer.close()

    def _serve(
        self,
        listen: psycopg.Connection[dict[str, Any]],
        work: psycopg.Connection[dict[str, Any]],
        stop: threading.Event,
    ) -> None:
        while not stop.is_set():
            self.deliver_due(work, stop)
            due = self.next_due_sec(work)
            wait = IDLE_CHECK_SEC if due is None else min(max(due, 0.05), IDLE_CHECK_SEC)
            deadline = time.monotonic() + wait
            # In slices, so a stop is noticed within a second.
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                notes = list(listen.notifies(timeout=min(left, 1.0), stop_after=1))
                if notes:
                    break
            # A vanished server fails here rather than leaving us deaf.
            listen.execute("select 1")


def start(
    database_url: str, settings: Settings, stop: threading.Event, log: Callable[[str], None]
) -> threading.Thread:
    """Run delivery in a daemon thread until `stop` is set."""
    delivery = Delivery(database_url, settings, log=log)
    thread = threading.Thread(target=delivery.run, args=(stop,), name="alert-delivery", daemon=True)
    thread.start()
    return thread
