"""Composing an alert mail: subjects, both parts, the run's facts, threading headers, no secret."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from ingest_api.alerts.mail import Addressing, Alert, AlertKind, compose, message_id, subject

CREATED = datetime(2025, 8, 25, 20, 40, 5, tzinfo=UTC)
ROOT_CREATED = datetime(2025, 8, 25, 20, 3, 0, tzinfo=UTC)
TO = Addressing(
    sender="Pipeline Pulse <alerts@acme.test>",
    recipients=["dev@acme.test", "ops@acme.test"],
    dashboard_url="https://pulse.acme.test/",
)


def facts(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "pipeline": "web",
        "branch": "main",
        "run": {
            "id": 41,
            "status": "failure",
            "conclusion": "failure",
            "commit": "5184f9c",
            "url": "https://ci.acme.test/runs/41",
            "triggered_by": "octocat",
            "duration_sec": 72.4,
            "started_at": "2025-08-25T20:38:53+00:00",
            "finished_at": "2025-08-25T20:40:05+00:00",
        },
        "failing_since": "2025-08-25T20:03:00+00:00",
        "failure_streak": 4,
        "red_for_sec": None,
        "last_green_commit": "0a1b2c3",
    }
    value.update(overrides)
    return value


def alert(kind: AlertKind = "failing", *, alert_id: int = 7, thread_id: int = 7, **f: Any) -> Alert:
    return Alert(
        id=alert_id,
        kind=kind,
        thread_id=thread_id,
        created_at=CREATED,
        thread_created_at=ROOT_CREATED if thread_id != alert_id else CREATED,
        facts=facts(**f),
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert isinstance(plain, EmailMessage)
    assert isinstance(rich, EmailMessage)
    return plain.get_content(), rich.get_content()


class TestSubject:
    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("failing", "❌ web failing on main"),
            ("failure", "❌ web failed on main"),
            ("reminder", "⏰ web still failing on main"),
            ("recovered", "✅ web recovered on main"),
        ],
    )
    def test_each_kind(self, kind: AlertKind, expected: str) -> None:
        assert subject(alert(kind)) == expected
        assert compose(alert(kind), TO)["Subject"] == expected


class TestCompose:
    def test_both_parts_carry_the_runs_facts(self) -> None:
        message = compose(alert(), TO)
        assert message.get_content_type() == "multipart/alternative"
        plain, rich = parts(message)
        for text in (plain, rich):
            for fact in ("web", "main", "5184f9c", "octocat", "1 min 12 s", "0a1b2c3"):
                assert fact in text, (fact, text)
            assert "2025-08-25 20:03 UTC" in text  # failing since
            assert "4 failures" in text
        assert "https://ci.acme.test/runs/41" in plain
        assert '<a href="https://ci.acme.test/runs/41">5184f9c</a>' in rich
        link = "https://pulse.acme.test/?pipeline=web&amp;branch=main"
        assert link in rich
        assert "Dashboard: https://pulse.acme.test/?pipeline=web&branch=main" in plain

    def test_a_run_without_url_shows_its_commit_unlinked(self) -> None:
        run = facts()["run"] | {"url": None}
        _, rich = parts(compose(alert(run=run), TO))
        assert "5184f9c" in rich
        assert "ci.acme.test" not in rich

    def test_recovery_says_after_how_many_failures_in_how_long(self) -> None:
        run = facts()["run"] | {"status": "success"}
        recovered = alert(
            "recovered", alert_id=9, thread_id=7, run=run, red_for_sec=2220, failure_streak=4
        )
        plain, rich = parts(compose(recovered, TO))
        assert "web recovered on main after 4 failures in 37 min." in plain
        assert "recovered on main after 4 failures in 37 min" in rich

    def test_names_and_links_are_escaped_in_html(self) -> None:
        hostile = alert(pipeline="<script>x</script>", branch="a&b")
        _, rich = parts(compose(hostile, TO))
        assert "<script>x" not in rich
        assert "&lt;script&gt;x&lt;/script&gt;" in rich


class TestHeaders:
    def test_the_failing_alert_starts_a_thread(self) -> None:
        message = compose(alert(), TO)
        assert message["Message-ID"] == message_id(7, CREATED, TO.sender)
        assert message["Message-ID"].endswith("@acme.test>")
        assert message["In-Reply-To"] is None
        assert message["References"] is None
        assert message["Date"] == "Mon, 25 Aug 2025 20:40:05 +0000"
        assert message["From"] == TO.sender
        assert message["To"] == "dev@acme.test, ops@acme.test"
        assert message["Auto-Submitted"] == "auto-generated"

    @pytest.mark.parametrize("kind", ["reminder", "recovered"])
    def test_reminders_and_recovery_reply_to_the_failing_alert(self, kind: AlertKind) -> None:
        message = compose(alert(kind, alert_id=12, thread_id=7), TO)
        root = message_id(7, ROOT_CREATED, TO.sender)
        assert message["In-Reply-To"] == root
        assert message["References"] == root
        assert message["Message-ID"] != root

    def test_message_ids_differ_between_databases(self) -> None:
        # Same alert id in two installations: only the creation time tells them apart.
        other = datetime(2025, 8, 25, 20, 40, 6, tzinfo=UTC)
        assert message_id(7, CREATED, TO.sender) != message_id(7, other, TO.sender)


def test_no_secret_in_the_message(caplog: pytest.LogCaptureFixture) -> None:
    """A mail is composed from the facts and addresses only; settings' secrets never reach it."""
    message = compose(alert(), TO)
    raw = message.as_string()
    for secret in ("test-ingest-token", "app-password", "Bearer"):
        assert secret not in raw
    assert not [r for r in caplog.records if "app-password" in r.getMessage()]
