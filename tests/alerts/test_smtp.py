"""The SMTP client against real servers on loopback: STARTTLS with our own CA, AUTH, errors
without credentials in them, a server that never answers, and the plain-text refusal."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest_api.alerts.smtp import Mailer, SendFailed
from ingest_api.config import Settings, settings_problems
from tests.alerts.support import (
    PASSWORD,
    USER,
    Authority,
    silent_server,
    smtp_server,
)


def settings(port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": "postgresql://unused@localhost/unused",
        "PULSE_SMTP_HOST": "127.0.0.1",
        "PULSE_SMTP_PORT": port,
        "PULSE_SMTP_SECURITY": "none",
        "PULSE_ALERT_TO": "dev@acme.test",
        "PULSE_ALERT_FROM": "alerts@acme.test",
        "PULSE_SMTP_TIMEOUT_SEC": 10,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def message() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "alerts@acme.test"
    m["To"] = "dev@acme.test"
    m["Subject"] = "❌ web failing on main"
    m.set_content("hello", cte="quoted-printable")
    return m


def secure(port: int, authority: Authority, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "PULSE_SMTP_SECURITY": "starttls",
        "PULSE_SMTP_CA_FILE": str(authority.ca_file),
        "PULSE_SMTP_USER": USER,
        "PULSE_SMTP_PASSWORD": PASSWORD,
    }
    return settings(port, **(values | overrides))


class TestStartTLS:
    def test_with_our_ca_file_the_mail_goes_out(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            mailer = Mailer(secure(server.port, authority))
            reply = mailer.send(message(), ["dev@acme.test"])
            assert reply.code == 250
            assert "queued as TEST" in reply.message
            assert server.inbox.count() == 1
            assert server.inbox.envelopes[0] == ("alerts@acme.test", ["dev@acme.test"])
            # The connection is kept for the next mail of a batch.
            mailer.send(message(), ["dev@acme.test"])
            assert server.inbox.count() == 2
            mailer.close()

    # aiosmtpd leaves the refused handshake's transport unclosed (tests/alerts/support.py).
    @pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    def test_without_it_the_certificate_is_refused(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            mailer = Mailer(secure(server.port, authority, PULSE_SMTP_CA_FILE=None))
            with pytest.raises(SendFailed) as failed:
                mailer.send(message(), ["dev@acme.test"])
            assert "certificate is not trusted" in failed.value.detail
            assert "PULSE_SMTP_CA_FILE" in failed.value.detail
            assert server.inbox.count() == 0

    def test_wrong_credentials_fail_without_showing_them(self, authority: Authority) -> None:
        with smtp_server(authority=authority, auth=True) as server:
            mailer = Mailer(secure(server.port, authority, PULSE_SMTP_PASSWORD="wrong-Pa55word"))
            with pytest.raises(SendFailed) as failed:
                mailer.send(message(), ["dev@acme.test"])
            assert failed.value.detail.startswith("535")
            assert "wrong-Pa55word" not in failed.value.detail
            assert server.inbox.count() == 0

    def test_a_server_without_starttls_is_refused(self) -> None:
        with smtp_server() as server:
            mailer = Mailer(settings(server.port, PULSE_SMTP_SECURITY="starttls"))
            with pytest.raises(SendFailed, match="does not offer STARTTLS"):
                mailer.send(message(), ["dev@acme.test"])
            assert server.inbox.count() == 0


def test_sanitise_removes_credentials_in_every_form(authority: Authority) -> None:
    mailer = Mailer(secure(1, authority))
    echoed = (
        f"535 bad login {USER} / {PASSWORD} "
        + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        + " "
        + base64.b64encode(PASSWORD.encode()).decode()
    )
    clean = mailer.sanitise(echoed)
    assert USER not in clean
    assert PASSWORD not in clean
    assert base64.b64encode(PASSWORD.encode()).decode() not in clean
    assert clean.startswith("535 bad login [redacted]")


def test_a_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        mailer = Mailer(settings(port, PULSE_SMTP_TIMEOUT_SEC=0.5))
        started = time.monotonic()
        with pytest.raises(SendFailed, match="timed out"):
            mailer.send(message(), ["dev@acme.test"])
        elapsed = time.monotonic() - started
    print(f"silent server: the attempt gave up after {elapsed:.2f} s (timeout 0.5 s)")
    assert elapsed < 10


def test_nothing_listening_is_said_plainly() -> None:
    with smtp_server(started=False) as server:
        mailer = Mailer(settings(server.port))
        with pytest.raises(SendFailed, match="connection refused"):
            mailer.send(message(), ["dev@acme.test"])


class TestSettings:
    def test_credentials_in_clear_text_to_another_host_are_refused(self) -> None:
        with pytest.raises(ValidationError) as refused:
            Settings(
                _env_file=None,
                PULSE_SMTP_HOST="smtp.acme.test",
                PULSE_SMTP_USER=USER,
                PULSE_SMTP_PASSWORD=PASSWORD,
                PULSE_SMTP_SECURITY="none",
            )
        problems = settings_problems(refused.value)
        assert problems == [
            "PULSE_SMTP_SECURITY=none would send the SMTP credentials unencrypted to "
            "smtp.acme.test; use starttls or tls, or a relay on this machine (got 'none')."
        ]
        assert PASSWORD not in " ".join(problems)

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
    def test_on_loopback_they_are_allowed(self, host: str) -> None:
        Settings(
            _env_file=None,
            PULSE_SMTP_HOST=host,
            PULSE_SMTP_USER=USER,
            PULSE_SMTP_PASSWORD=PASSWORD,
            PULSE_SMTP_SECURITY="none",
        )

    def test_the_password_is_not_in_the_repr(self) -> None:
        value = Settings(_env_file=None, PULSE_SMTP_USER=USER, PULSE_SMTP_PASSWORD=PASSWORD)
        assert PASSWORD not in repr(value)

    def test_lists_and_defaults(self, tmp_path: Path) -> None:
        value = Settings(
            _env_file=None, PULSE_ALERT_TO="a@acme.test, b@acme.test", PULSE_SMTP_USER=USER
        )
        assert value.alert_to == ["a@acme.test", "b@acme.test"]
        assert value.alert_from == USER
        assert value.alert_branches == ["main", "master"]
        assert value.smtp_port == 587
        assert value.smtp_security == "starttls"
        assert value.smtp_timeout_sec == 30
        assert value.alert_reminder_min == 30
        assert Settings(_env_file=None, PULSE_ALERT_BRANCHES="*").alert_branches is None
        with pytest.raises(ValidationError, match="not a mail address"):
            Settings(_env_file=None, PULSE_ALERT_TO="nobody")
