"""`pulse alerts test`: a user's first question, "is my mail set up right?", answered by the
server itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.alerts.support import PASSWORD, USER, Authority, smtp_server

ROOT = Path(__file__).resolve().parents[2]


def pulse_alerts_test(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "ingest_api", "alerts", "test", *args],
        cwd=ROOT,
        env=clean | {"COLUMNS": "200"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def smtp_env(port: int, authority: Authority, password: str = PASSWORD) -> dict[str, str]:
    return {
        "PULSE_SMTP_HOST": "127.0.0.1",
        "PULSE_SMTP_PORT": str(port),
        "PULSE_SMTP_SECURITY": "starttls",
        "PULSE_SMTP_CA_FILE": str(authority.ca_file),
        "PULSE_SMTP_USER": USER,
        "PULSE_SMTP_PASSWORD": password,
        "PULSE_SMTP_TIMEOUT_SEC": "10",
        "PULSE_ALERT_TO": "dev@acme.test",
    }


class TestAlertsTest:
    def test_prints_the_servers_answer_and_exits_0(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            done = pulse_alerts_test(smtp_env(server.port, authority))
            assert done.returncode == 0, done.stdout + done.stderr
            assert "Sent. The server answered: 250 2.0.0 Ok: queued as TEST" in done.stdout
            assert server.inbox.count() == 1
            sent = server.inbox.messages[0]
            assert sent["Subject"] == "✅ Pipeline Pulse: test mail"
            assert sent["From"] == USER
            assert server.inbox.envelopes[0][1] == ["dev@acme.test"]
            assert PASSWORD not in done.stdout + done.stderr

    def test_to_overrides_the_recipients(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            done = pulse_alerts_test(
                smtp_env(server.port, authority), "--to", "me@acme.test, you@acme.test"
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert server.inbox.envelopes[0][1] == ["me@acme.test", "you@acme.test"]

    def test_wrong_password_prints_the_refusal_and_exits_1(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            done = pulse_alerts_test(smtp_env(server.port, authority, password="nope-Wr0ng-pw"))
            assert done.returncode == 1, done.stdout + done.stderr
            assert "Not sent. The server answered: 535 5.7.8" in done.stderr
            assert "PULSE_SMTP_USER / PULSE_SMTP_PASSWORD" in done.stderr
            assert "nope-Wr0ng-pw" not in done.stdout + done.stderr
            assert server.inbox.count() == 0

    def test_without_recipients_says_how_to_set_them(self) -> None:
        done = pulse_alerts_test({"PULSE_SMTP_USER": USER})
        assert done.returncode == 2
        assert "set PULSE_ALERT_TO, or pass --to" in done.stderr

    def test_clear_text_credentials_to_another_host_are_refused_at_start(self) -> None:
        env = {
            "PULSE_SMTP_HOST": "smtp.acme.test",
            "PULSE_SMTP_SECURITY": "none",
            "PULSE_SMTP_USER": USER,
            "PULSE_SMTP_PASSWORD": PASSWORD,
        }
        done = pulse_alerts_test(env)
        assert done.returncode == 2
        assert "would send the SMTP credentials unencrypted to smtp.acme.test" in done.stderr
        assert PASSWORD not in done.stdout + done.stderr
