"""Delivery by the worker's alert thread against a real database and real SMTP servers: once
per alert however many workers, retries with backoff, the 24 h give-up, the 1 h flood rule, and
a silent server that holds up nothing else."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from ingest_api.alerts.delivery import Delivery, backoff_sec
from ingest_api.db import make_engine
from ingest_api.worker import refresh_history
from tests.alerts.factories import alert_row, attempts_of, insert_alert
from tests.alerts.support import (
    PASSWORD,
    Authority,
    alert_settings,
    delivering,
    secure_settings,
    silent_server,
    smtp_server,
)
from tests.support import wait_for


def state(url: str, alert_id: int) -> str:
    return str(alert_row(url, alert_id)["state"])


class TestOneAlert:
    def test_sent_once_with_its_attempt_recorded(
        self, db_url: str, tmp_path: Any, authority: Authority, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with smtp_server(authority=authority, auth=True) as server:
            settings = secure_settings(db_url, tmp_path, server.port, authority)
            with delivering(db_url, settings):
                alert_id = insert_alert(db_url)
                wait_for(lambda: state(db_url, alert_id) == "sent", timeout=30)
            row = alert_row(db_url, alert_id)
            assert row["attempts"] == 1
            assert row["sent_at"] is not None
            assert row["last_error"] is None
            assert attempts_of(db_url, alert_id) == [("sent", "250 2.0.0 Ok: queued as TEST")]
            assert server.inbox.count() == 1
            sent = server.inbox.messages[0]
            assert sent["Subject"] == "❌ web failing on main"
            assert sent["Message-ID"].startswith(f"<pulse-alert-{alert_id}.")
            raw = sent.as_string()
        for text in (raw, caplog.text):
            assert PASSWORD not in text
            assert "S3cr3t" not in text

    def test_wrong_credentials_are_retried_and_reported(
        self, db_url: str, tmp_path: Any, authority: Authority
    ) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            wrong = "wrong-Pa55word-1234"
            settings = secure_settings(
                db_url, tmp_path, server.port, authority, PULSE_SMTP_PASSWORD=wrong
            )
            delivery = Delivery(db_url, settings)
            alert_id = insert_alert(db_url)
            with delivery.connect() as conn:
                outcome = delivery.deliver_one(conn)
                assert outcome is not None
                assert not outcome.sent
                assert outcome.state == "pending"
                due = delivery.next_due_sec(conn)
            assert due is not None
            assert 3 < due <= backoff_sec(1)
            row = alert_row(db_url, alert_id)
            assert row["attempts"] == 1
            assert row["last_error"].startswith("535 5.7.8")
            assert wrong not in row["last_error"]
            [(outcome_kind, detail)] = attempts_of(db_url, alert_id)
            assert outcome_kind == "error"
            assert detail.startswith("535")
            assert server.inbox.count() == 0

    def test_smtp_down_then_up_delivers_once(self, db_url: str, tmp_path: Any) -> None:
        with smtp_server(started=False) as server:
            settings = alert_settings(db_url, tmp_path, server.port)
            with delivering(db_url, settings):
                alert_id = insert_alert(db_url)
                wait_for(lambda: alert_row(db_url, alert_id)["last_error"], timeout=30)
                assert "connection refused" in alert_row(db_url, alert_id)["last_error"]
                server.start()
                # The retry timer (5 s after the first failure) sends it, unprompted.
                wait_for(lambda: state(db_url, alert_id) == "sent", timeout=60)
            assert server.inbox.count() == 1
            outcomes = [outcome for outcome, _ in attempts_of(db_url, alert_id)]
            assert outcomes == ["error", "sent"]


def test_backoff_doubles_from_5_s_to_5_min() -> None:
    assert [backoff_sec(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 100)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        300,
        300,
        300,
    ]


def test_a_silent_server_times_out_and_holds_nothing_up(db_url: str, tmp_path: Any) -> None:
    with silent_server() as port:
        settings = alert_settings(db_url, tmp_path, port, PULSE_SMTP_TIMEOUT_SEC=3)
        with delivering(db_url, settings):
            alert_id = insert_alert(db_url)
            wait_for(lambda: alert_row(db_url, alert_id)["attempts"] == 1, timeout=30)
            started = time.monotonic()
            # While the attempt waits on the server: no transaction holds the alert, and the
            # worker's other job runs.
            with psycopg.connect(db_url) as conn:
                conn.execute("select 1 from alerts where id = %s for update nowait", (alert_id,))
            engine = make_engine(db_url, pool_size=1)
            try:
                refresh_history(engine, wait=False)
            finally:
                engine.dispose()
            other_work = time.monotonic() - started
            wait_for(lambda: alert_row(db_url, alert_id)["last_error"], timeout=30)
            timed_out = time.monotonic() - started
    row = alert_row(db_url, alert_id)
    assert row["last_error"] == "timed out waiting for the SMTP server"
    assert row["state"] == "pending"
    print(
        f"silent SMTP server: other work took {other_work:.2f} s; the attempt gave up "
        f"{timed_out:.2f} s later (timeout 3 s)"
    )
    assert other_work < 3


def test_two_workers_send_each_alert_once(db_url: str, tmp_path: Any) -> None:
    with smtp_server() as server:
        settings = alert_settings(db_url, tmp_path, server.port)
        with delivering(db_url, settings), delivering(db_url, settings):
            ids = [insert_alert(db_url, pipeline=f"p{n % 5}") for n in range(40)]
            wait_for(lambda: all(state(db_url, i) == "sent" for i in ids), timeout=60)
        assert server.inbox.count() == 40
        message_ids = {m["Message-ID"] for m in server.inbox.messages}
        assert len(message_ids) == 40
    for alert_id in ids:
        assert alert_row(db_url, alert_id)["attempts"] == 1


def test_only_alerts_younger_than_1_h_go_out_when_delivery_starts(
    db_url: str, tmp_path: Any
) -> None:
    # Recorded while nobody was mailed (no PULSE_ALERT_TO, or no worker).
    old = insert_alert(db_url, age=timedelta(hours=2), notify=False)
    retried = insert_alert(db_url, age=timedelta(hours=3), attempts=4, notify=False)
    fresh = insert_alert(db_url, age=timedelta(minutes=50), notify=False)
    with smtp_server() as server:
        settings = alert_settings(db_url, tmp_path, server.port)
        with delivering(db_url, settings):
            wait_for(lambda: state(db_url, fresh) == "sent", timeout=30)
        assert server.inbox.count() == 1
    for alert_id in (old, retried):
        row = alert_row(db_url, alert_id)
        assert row["state"] == "skipped"
        assert "more than 1 h" in row["last_error"]
        assert attempts_of(db_url, alert_id) == []


def test_after_24_h_of_errors_the_alert_is_failed(db_url: str, tmp_path: Any) -> None:
    with smtp_server(started=False) as server:
        settings = alert_settings(db_url, tmp_path, server.port)
        delivery = Delivery(db_url, settings)
        young = insert_alert(db_url, age=timedelta(hours=23), attempts=5, notify=False)
        old = insert_alert(db_url, age=timedelta(hours=24, minutes=1), attempts=20)
        with delivery.connect() as conn:
            assert delivery.deliver_due(conn) == 2
    assert state(db_url, young) == "pending"
    assert state(db_url, old) == "failed"
    assert "connection refused" in alert_row(db_url, old)["last_error"]
    assert [outcome for outcome, _ in attempts_of(db_url, old)] == ["error"]
