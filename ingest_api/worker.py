"""`pulse worker`: background jobs. Refreshing the daily history (every
PULSE_HISTORY_REFRESH_SEC, a minute by default), and delivering alert mail in a thread of its
own (ingest_api/alerts/delivery.py), so a hung SMTP server never delays a refresh.

The refresh itself is SQL (refresh_history in sql/functions/refresh_history_v01.sql): it recomputes
only the days that changed and holds an advisory lock, so any number of workers may run and
only one refreshes at a time; the others skip that round.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ingest_api import telemetry
from ingest_api.alerts import delivery
from ingest_api.config import Settings

# Seconds between tries while the database is unreachable.
RETRY_MAX_SEC = 1.0

_REFRESH = text("select * from refresh_history(:full, :wait)")


@dataclass(frozen=True)
class Refresh:
    refreshed: bool  # false: another refresh held the lock, and we did not wait
    pipeline_days: int
    branch_days: int
    pipelines: int
    elapsed_ms: float


def refresh_history(engine: Engine, *, full: bool = False, wait: bool = False) -> Refresh:
    """One refresh, in its own transaction."""
    started = time.perf_counter()
    with engine.begin() as conn:
        row = conn.execute(_REFRESH, {"full": full, "wait": wait}).one()
    return Refresh(
        refreshed=row.refreshed,
        pipeline_days=row.pipeline_days,
        branch_days=row.branch_days,
        pipelines=row.pipelines,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def run(
    engine: Engine,
    *,
    interval_sec: float,
    stop: threading.Event,
    log: Callable[[str], None],
) -> None:
    """Refresh now and then every `interval_sec` until `stop` is set; after a database error
    the next try comes sooner (within RETRY_MAX_SEC), so the history follows within seconds of
    the database's return rather than a whole interval later."""
    while not stop.is_set():
        try:
            result = refresh_history(engine)
        except DBAPIError as exc:
            retry = min(interval_sec, RETRY_MAX_SEC)
            log(f"history refresh failed, retrying in {retry:g} s: {exc.orig}")
            stop.wait(retry)
            continue
        else:
            if not result.refreshed:
                log("history refresh skipped: another worker is refreshing")
            elif result.pipeline_days or result.branch_days:
                telemetry.history_refresh.observe(result.elapsed_ms / 1000)
                log(
                    f"history refreshed: {result.pipeline_days} pipeline-days, "
                    f"{result.branch_days} branch-days in {result.elapsed_ms:.0f} ms"
                )
        stop.wait(interval_sec)


def start_alert_delivery(
    database_url: str,
    settings: Settings,
    *,
    stop: threading.Event,
    log: Callable[[str], None],
) -> threading.Thread | None:
    """Deliver alerts until `stop` is set; None when PULSE_ALERT_TO names nobody (alerts are
    then recorded, and kept for an hour should delivery start)."""
    if not settings.alert_to:
        return None
    return delivery.start(database_url, settings, stop, log)
