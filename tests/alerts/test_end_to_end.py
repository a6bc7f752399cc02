"""Runs ingested through the API, decided by the database's trigger, mailed by the worker's
delivery thread to a real SMTP server: the mails a team gets."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg

from ingest_api.alerts.settings import write_alert_settings
from tests.alerts.support import Inbox, alert_settings, delivering, silent_server, smtp_server
from tests.api.support import Api
from tests.support import wait_for

# Long enough for a mail that should not come to have come: delivery is woken at commit.
QUIET_SEC = 2.0


def run(pipeline: str = "web", status: str = "failure", **fields: Any) -> dict[str, Any]:
    return {
        "pipeline": pipeline,
        "status": status,
        "branch": "main",
        "commit": f"c{time.monotonic_ns() % 10**9:x}",
        "triggered_by": "octocat",
        "duration_sec": 42,
    } | fields


def post(api: Api, body: dict[str, Any]) -> None:
    answer = api.ingest(body)
    assert answer.status_code == 200, answer.text


def mails(inbox: Inbox, count: int) -> list[EmailMessage]:
    wait_for(lambda: inbox.count() >= count, timeout=30)
    return list(inbox.messages)


def no_more_than(inbox: Inbox, count: int) -> None:
    time.sleep(QUIET_SEC)
    assert inbox.count() == count, [m["Subject"] for m in inbox.messages]


def alerts_in(api: Api) -> list[dict[str, Any]]:
    answer = api.client.get("/api/alerts")
    assert answer.status_code == 200
    rows: list[dict[str, Any]] = answer.json()
    return rows


def test_a_failure_episode_is_three_mails_in_one_thread(api: Api, tmp_path: Path) -> None:
    with smtp_server() as server:
        settings = alert_settings(api.db_url, tmp_path, server.port)
        write_alert_settings(api.db_url, settings, command="test")
        with delivering(api.db_url, settings):
            post(api, run(status="success", commit="0a1b2c3"))
            no_more_than(server.inbox, 0)

            started = time.monotonic()
            post(api, run(url="https://ci.acme.test/runs/2"))
            [failing] = mails(server.inbox, 1)
            print(f"failure -> mail in {time.monotonic() - started:.2f} s")
            assert failing["Subject"] == "❌ web failing on main"
            body = failing.get_body(("plain",))
            assert isinstance(body, EmailMessage)
            assert "0a1b2c3" in body.get_content()  # the last green commit

            post(api, run())
            post(api, run())
            no_more_than(server.inbox, 1)

            # The reminder interval (30 min) passes.
            with psycopg.connect(api.db_url, autocommit=True) as conn:
                conn.execute(
                    "update alert_states set last_alert_at = last_alert_at - interval '31 min'"
                )
            post(api, run())
            reminder = mails(server.inbox, 2)[1]
            assert reminder["Subject"] == "⏰ web still failing on main"

            post(api, run(status="success"))
            recovered = mails(server.inbox, 3)[2]
            assert recovered["Subject"] == "✅ web recovered on main"
            text = recovered.get_body(("plain",))
            assert isinstance(text, EmailMessage)
            assert "recovered on main after 4 failures in" in text.get_content()
            for reply in (reminder, recovered):
                assert reply["In-Reply-To"] == failing["Message-ID"]
                assert reply["References"] == failing["Message-ID"]
            no_more_than(server.inbox, 3)
        listed = alerts_in(api)
        assert [(a["kind"], a["state"]) for a in listed] == [
            ("recovered", "sent"),
            ("reminder", "sent"),
            ("failing", "sent"),
        ]


def test_feature_branches_and_simulated_runs_stay_quiet(api: Api, tmp_path: Path) -> None:
    with smtp_server() as server:
        settings = alert_settings(api.db_url, tmp_path, server.port)
        write_alert_settings(api.db_url, settings, command="test")
        with delivering(api.db_url, settings):
            post(api, run(status="success", branch="feature/login"))
            post(api, run(branch="feature/login"))
            post(api, run(pipeline="sim", status="success", source="simulator"))
            post(api, run(pipeline="sim", source="simulator"))
            no_more_than(server.inbox, 0)
    assert alerts_in(api) == []


def test_policy_every_mails_each_failure(api: Api, tmp_path: Path) -> None:
    with smtp_server() as server:
        settings = alert_settings(api.db_url, tmp_path, server.port, PULSE_ALERT_POLICY="every")
        write_alert_settings(api.db_url, settings, command="test")
        with delivering(api.db_url, settings):
            post(api, run(status="success"))
            for _ in range(3):
                post(api, run())
            sent = mails(server.inbox, 3)
            no_more_than(server.inbox, 3)
    subjects = [m["Subject"] for m in sent]
    assert subjects[0] == "❌ web failing on main"
    assert subjects[1:] == ["❌ web failed on main"] * 2


def test_ingest_does_not_wait_for_a_hung_smtp_server(api: Api, tmp_path: Path) -> None:
    with silent_server() as port:
        settings = alert_settings(api.db_url, tmp_path, port, PULSE_SMTP_TIMEOUT_SEC=5)
        write_alert_settings(api.db_url, settings, command="test")
        with delivering(api.db_url, settings):
            latencies = []
            for n in range(20):
                started = time.monotonic()
                post(api, run(status="failure" if n % 2 else "success"))
                latencies.append(time.monotonic() - started)
            latencies.sort()
            print(
                f"ingest with a hung SMTP server: median {latencies[10] * 1000:.0f} ms, "
                f"max {latencies[-1] * 1000:.0f} ms over 20 runs (10 alerts)"
            )
    assert len(alerts_in(api)) >= 10
