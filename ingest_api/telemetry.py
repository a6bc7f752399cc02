"""What operators scrape: `GET /metrics` in Prometheus' text format (prometheus-client).

`pulse up` and `pulse api` name a directory in PROMETHEUS_MULTIPROC_DIR before any of this is
imported (prometheus-client picks its storage at import): every API worker process, and under
`pulse up` the worker too, writes its figures there, and a scrape of any one of them adds them
up, one figure across all. Without the variable (the app served in-process, as the tests do)
the figures are this process's own.

Figures that live in the database (the alert outbox, the history waiting for a refresh) are read
from it at scrape time, so they hold across processes, hosts and restarts.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ingest_api.processes import pid_alive

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

log = logging.getLogger("pulse.telemetry")

# Ingest answers in a few ms; a summary of a year in tens; past 10 s is a fault.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

http_requests = Histogram(
    "pulse_http_request_duration_seconds",
    "HTTP requests by method, route template and status: count and latency.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
webhook_deliveries = Counter(
    "pulse_webhook_deliveries",
    "GitHub webhook deliveries taken, by event and outcome (stored, duplicate, pong, ignored);"
    " refused ones count in pulse_http_request_duration_seconds by status.",
    ["event", "outcome"],
)
live_clients = Gauge(
    "pulse_live_clients", "Open WebSocket clients on /ws/metrics.", multiprocess_mode="livesum"
)
live_dropped = Counter(
    "pulse_live_messages_dropped",
    "Live messages not delivered because their client was too slow (it is closed with 1013).",
)
live_ticks = Histogram(
    "pulse_live_tick_duration_seconds",
    "Live ticks that had work: reading the changes and computing the summaries.",
    buckets=_LATENCY_BUCKETS,
)
summaries_computed = Counter(
    "pulse_live_summaries_computed", "Summaries computed for live subscriptions."
)
listener_reconnects = Counter(
    "pulse_live_listener_reconnects",
    "Times the live listener got its database connection back after losing it.",
)
pool_in_use = Gauge(
    "pulse_db_connections_in_use",
    "Database connections checked out, by pool (write: ingest; read: reads and summaries).",
    ["pool"],
    multiprocess_mode="livesum",
)
history_refresh = Histogram(
    "pulse_history_refresh_duration_seconds",
    "Daily-history refreshes by `pulse worker` that found work.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)

_ALERT_STATES = ("pending", "sent", "failed", "skipped")
_DATABASE_FIGURES = text(
    """
    select
        (select coalesce(jsonb_object_agg(state, n), '{}') from
            (select state, count(*) as n from alerts group by state) by_state) as alerts,
        (select coalesce(jsonb_object_agg(outcome, n), '{}') from
            (select outcome, count(*) as n from alert_attempts group by outcome) by_outcome)
            as attempts,
        (select count(*) from history_changes) as history_waiting
    """
)


class _DatabaseFigures(Collector):
    """Figures read from the database at scrape time; pulse_database_up says whether it could."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("pulse_database_up", "1 when the database answered this scrape.")
        try:
            if self.engine is None:
                raise SQLAlchemyError("no engine")
            with self.engine.connect() as conn:
                row = conn.execute(_DATABASE_FIGURES).one()
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        outbox = GaugeMetricFamily(
            "pulse_alerts",
            "Alerts by state; `pending` is the outbox still to deliver.",
            labels=["state"],
        )
        for state in _ALERT_STATES:
            outbox.add_metric([state], row.alerts.get(state, 0))
        yield outbox
        attempts = CounterMetricFamily(
            "pulse_alert_delivery_attempts",
            "Alert delivery attempts recorded, by outcome (anything but sent is a failure).",
            labels=["outcome"],
        )
        for outcome, count in sorted(row.attempts.items()):
            attempts.add_metric([outcome], count)
        yield attempts
        yield GaugeMetricFamily(
            "pulse_history_days_waiting",
            "Pipeline-days changed since the last daily-history refresh.",
            value=row.history_waiting,
        )


class _Scrape(Collector):
    def __init__(self, *sources: Collector) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


_PID_IN_NAME = re.compile(r"_(\d+)\.db$")


def _forget_dead_processes(directory: Path) -> None:
    """A restarted worker's live gauges must not count in the sums any more."""
    for path in directory.glob("gauge_live*.db"):
        match = _PID_IN_NAME.search(path.name)
        if match and not pid_alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(directory))  # type: ignore[no-untyped-call]


def exposition(engine: Engine | None) -> bytes:
    """The text a scrape gets: every process's figures, then the database's."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        _forget_dead_processes(Path(directory))
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes, path=directory)  # type: ignore[no-untyped-call]
        source: Collector = processes
    else:
        source = REGISTRY
    return generate_latest(_Scrape(source, _DatabaseFigures(engine)))
