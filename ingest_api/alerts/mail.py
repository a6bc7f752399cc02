"""An alert as a mail: subject, plain-text and HTML parts, and the headers that let a mail
client thread a failure with its reminders and its recovery.

Everything shown comes from the alert's `facts`, which the trigger wrote in the run's own
transaction (the run may have changed or gone since). Nothing secret is ever read here: the
settings used are the addresses and the dashboard's URL.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, Literal
from urllib.parse import urlencode

AlertKind = Literal["failing", "reminder", "recovered", "failure"]

_FALLBACK_DOMAIN = "pipeline-pulse.invalid"


@dataclass(frozen=True)
class Alert:
    """An alert row as delivery reads it."""

    id: int
    kind: AlertKind
    thread_id: int
    created_at: datetime
    thread_created_at: datetime  # the thread root's, for its Message-ID
    facts: dict[str, Any]


@dataclass(frozen=True)
class Addressing:
    sender: str
    recipients: list[str]
    dashboard_url: str


def message_id(alert_id: int, created_at: datetime, sender: str) -> str:
    """An alert's Message-ID, computed the same by any worker from the row alone. The creation
    time keeps two installations sending from one address (two laptops, a reset database) from
    sharing ids, which a mail service would drop as duplicates."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or _FALLBACK_DOMAIN
    stamp = int(created_at.timestamp() * 1_000_000)
    return f"<pulse-alert-{alert_id}.{stamp:x}@{domain}>"


def subject(alert: Alert) -> str:
    pipeline, branch = alert.facts.get("pipeline", "?"), alert.facts.get("branch", "?")
    return {
        "failing": f"❌ {pipeline} failing on {branch}",
        "failure": f"❌ {pipeline} failed on {branch}",
        "reminder": f"⏰ {pipeline} still failing on {branch}",
        "recovered": f"✅ {pipeline} recovered on {branch}",
    }[alert.kind]


def compose(alert: Alert, to: Addressing) -> EmailMessage:
    facts = alert.facts
    run: dict[str, Any] = facts.get("run") or {}
    message = EmailMessage()
    message["Subject"] = subject(alert)
    message["From"] = to.sender
    message["To"] = ", ".join(to.recipients)
    message["Date"] = format_datetime(alert.created_at)
    message["Message-ID"] = message_id(alert.id, alert.created_at, to.sender)
    if alert.thread_id != alert.id:
        root = message_id(alert.thread_id, alert.thread_created_at, to.sender)
        message["In-Reply-To"] = root
        message["References"] = root
    # RFC 3834: out-of-office and other robots do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Pulse-Alert"] = alert.kind

    link = dashboard_link(to.dashboard_url, facts.get("pipeline"), facts.get("branch"))
    rows = _rows(alert, run)
    headline = _headline(alert)
    text_rows = "\n".join(f"{label + ':':<15}{value}" for label, value, _ in rows)
    message.set_content(
        f"{headline}\n\n{text_rows}\n\nDashboard: {link}\n",
        cte="quoted-printable",
    )
    html_rows = "".join(
        f'<tr><th align="left" style="padding-right:1em">{html.escape(label)}</th>'
        f"<td>{cell}</td></tr>"
        for label, _, cell in rows
    )
    message.add_alternative(
        "<!doctype html><html><body>"
        f"<p>{html.escape(headline)}</p><table>{html_rows}</table>"
        f'<p><a href="{html.escape(link)}">Open the dashboard</a></p>'
        "</body></html>\n",
        subtype="html",
        cte="quoted-printable",
    )
    return message


def dashboard_link(dashboard_url: str, pipeline: object, branch: object) -> str:
    query = {
        key: str(value) for key, value in (("pipeline", pipeline), ("branch", branch)) if value
    }
    return f"{dashboard_url.rstrip('/')}/?{urlencode(query)}"


def _headline(alert: Alert) -> str:
    facts = alert.facts
    pipeline, branch = facts.get("pipeline", "?"), facts.get("branch", "?")
    streak = _failures(facts.get("failure_streak"))
    if alert.kind == "recovered":
        red_for = _seconds(facts.get("red_for_sec"))
        span = f" in {_duration(red_for)}" if red_for is not None else ""
        return f"{pipeline} recovered on {branch} after {streak}{span}."
    if alert.kind == "reminder":
        return f"{pipeline} is still failing on {branch}: {streak} so far."
    if alert.kind == "failure":
        return f"{pipeline} failed on {branch} ({streak} in a row)."
    return f"{pipeline} is failing on {branch}."


def _rows(alert: Alert, run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, plain text, HTML) for each fact the alert has."""
    facts = alert.facts
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: object, cell: str | None = None) -> None:
        if value is None or value == "":
            return
        rows.append((label, str(value), cell if cell is not None else html.escape(str(value))))

    add("Pipeline", facts.get("pipeline"))
    add("Branch", facts.get("branch"))
    commit, url = run.get("commit"), run.get("url")
    if commit and isinstance(url, str) and url.startswith(("https://", "http://")):
        add(
            "Commit",
            f"{commit} ({url})",
            f'<a href="{html.escape(url)}">{html.escape(str(commit))}</a>',
        )
    else:
        add("Commit", commit)
    add("Status", run.get("status"))
    add("Triggered by", run.get("triggered_by"))
    duration = _seconds(run.get("duration_sec"))
    add("Duration", _duration(duration) if duration is not None else None)
    add("Finished", _when(run.get("finished_at")))
    if alert.kind == "recovered":
        red_for = _seconds(facts.get("red_for_sec"))
        add("Red for", _duration(red_for) if red_for is not None else None)
        add("Failures", facts.get("failure_streak"))
    else:
        add("Failing since", _when(facts.get("failing_since")))
        add("Streak", _failures(facts.get("failure_streak")))
    add("Last green", facts.get("last_green_commit") or "none recorded")
    return rows


def _failures(count: object) -> str:
    if not isinstance(count, int):
        return "failures"
    return f"{count} failure" + ("" if count == 1 else "s")


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _duration(seconds: float) -> str:
    """37 s, 4 min 2 s, 37 min, 2 h 5 min, 3 d 4 h: as a person says it."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _when(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.utcoffset() is None:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_message(sender: str, recipients: list[str], dashboard_url: str) -> EmailMessage:
    """What `pulse alerts test` sends: proof that alerts will arrive, from the same sender."""
    message = EmailMessage()
    message["Subject"] = "✅ Pipeline Pulse: test mail"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(
        "pulse-test", parseaddr(sender)[1].rpartition("@")[2] or None
    )
    message["Auto-Submitted"] = "auto-generated"
    text = (
        "This is a test mail from Pipeline Pulse (`pulse alerts test`).\n\n"
        "Alerts about failing and recovered pipelines will come from this address, "
        f"with a link to the dashboard ({dashboard_url})."
    )
    message.set_content(text + "\n", cte="quoted-printable")
    message.add_alternative(
        f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>\n",
        subtype="html",
        cte="quoted-printable",
    )
    return message
