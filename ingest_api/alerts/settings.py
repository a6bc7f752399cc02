"""The alert settings the trigger decides with (`alert_settings`, one row), written from this
process's settings by `pulse up` and `pulse worker` when they start: the last one wins."""

from __future__ import annotations

import os
import socket

import psycopg

from ingest_api.config import Settings
from ingest_api.db import libpq_url

_WRITE = """
    insert into alert_settings as current
        (id, branches, policy, reminder_min, simulated, updated_at, updated_by)
    values (true, %(branches)s, %(policy)s, %(reminder_min)s, %(simulated)s, now(), %(by)s)
    on conflict (id) do update set
        branches = excluded.branches,
        policy = excluded.policy,
        reminder_min = excluded.reminder_min,
        simulated = excluded.simulated,
        updated_at = excluded.updated_at,
        updated_by = excluded.updated_by
"""


def write_alert_settings(database_url: str, settings: Settings, *, command: str) -> None:
    by = f"pulse {command} (pid {os.getpid()} on {socket.gethostname()})"
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            _WRITE,
            {
                "branches": settings.alert_branches,
                "policy": settings.alert_policy,
                "reminder_min": settings.alert_reminder_min,
                "simulated": settings.alert_simulated,
                "by": by,
            },
        )


def describe_alerts(settings: Settings) -> list[str]:
    """What alerting does with these settings, for `pulse up`'s banner and `pulse worker`."""
    branches = (
        "every branch"
        if settings.alert_branches is None
        else ", ".join(settings.alert_branches) or "no branch"
    )
    reminders = (
        f"a reminder every {settings.alert_reminder_min} min while failing"
        if settings.alert_reminder_min
        else "no reminders"
    )
    policy = (
        "when a branch starts failing and when it recovers"
        if settings.alert_policy == "transitions"
        else "on every failure, and when a branch recovers"
    )
    what = f"{policy}; {branches}; {reminders}" + (
        "" if not settings.alert_simulated else "; simulated runs too"
    )
    if not settings.alert_to:
        return [
            f"recorded, not mailed: set PULSE_ALERT_TO to mail them ({what})",
            "GET /api/alerts lists them; `pulse alerts test` checks the mail set-up",
        ]
    return [
        f"mailed to {', '.join(settings.alert_to)} via {settings.smtp_host}:"
        f"{settings.smtp_port} ({settings.smtp_security})",
        what,
    ]
