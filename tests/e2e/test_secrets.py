"""No secret in any log line, error answer or /api/info, over a whole `pulse up` run.

The run gets every secret the product takes (the ingest token, the webhook secret, the SMTP
password, a database URL with a password), then is driven through what makes logs and errors:
refused tokens and signatures, bad input, an alert whose mail the SMTP server refuses, the
database dropping every connection. Everything it printed and every answer it gave is searched
for each secret, as sent and as encoded (URL-encoded, base64: SMTP AUTH sends the password so).
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from sqlalchemy import make_url

from tests.alerts.support import USER, make_authority, smtp_server
from tests.e2e.processes import pulse_up
from tests.factories import event_body
from tests.github.test_webhooks import sign
from tests.support import wait_for


def _database_with_password(admin_url: str, password: str) -> str:
    role, database = f"pulse_secret_{uuid.uuid4().hex[:8]}", f"pulse_secret_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"create role {role} login password '{password}'")
        conn.execute(f"create database {database} owner {role}")
    return (
        make_url(admin_url)
        .set(username=role, password=password, database=database)
        .render_as_string(hide_password=False)
    )


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}


def test_no_secret_is_ever_shown(pg_admin_url: str, tmp_path: Path) -> None:
    secrets = {
        "token": f"tok-{uuid.uuid4().hex}",
        "webhook": f"whk-{uuid.uuid4().hex}",
        "smtp": f"smtp-{uuid.uuid4().hex}",
        "database": f"db-{uuid.uuid4().hex}",
    }
    url = _database_with_password(pg_admin_url, secrets["database"])
    answers: list[str] = []
    authority = make_authority(tmp_path)
    with smtp_server(auth=True, authority=authority) as smtp:
        settings = {
            "DATABASE_URL": url,
            "PULSE_INGEST_TOKEN": secrets["token"],
            "PULSE_GITHUB_WEBHOOK_SECRET": secrets["webhook"],
            "PULSE_SMTP_HOST": smtp.host,
            "PULSE_SMTP_PORT": str(smtp.port),
            "PULSE_SMTP_SECURITY": "starttls",
            "PULSE_SMTP_CA_FILE": str(authority.ca_file),
            "PULSE_SMTP_USER": USER,
            # Not the server's password: every delivery fails and is logged.
            "PULSE_SMTP_PASSWORD": secrets["smtp"],
            "PULSE_ALERT_TO": "team@acme.test",
        }
        with pulse_up(tmp_path / "data", tmp_path / "pulse-up.log", extra_env=settings) as up:
            api = httpx.Client(base_url=up.api_url, timeout=30)
            good = {"Authorization": f"Bearer {secrets['token']}"}
            failing = event_body(pipeline="deploy", branch="main", status="failure")
            calls = [
                api.post("/api/events/run", json=failing, headers=good),
                api.post("/api/events/run", json=failing, headers={"Authorization": "Bearer x"}),
                api.post("/api/events/run", json={"status": "bogus"}, headers=good),
                api.post(
                    "/api/webhooks/github", content=b"{}", headers={"X-Hub-Signature-256": "x"}
                ),
                api.post(
                    "/api/webhooks/github",
                    content=b'{"zen": "hi", "hook_id": 1}',
                    headers={
                        "X-Hub-Signature-256": sign(
                            b'{"zen": "hi", "hook_id": 1}', secrets["webhook"]
                        ),
                        "X-GitHub-Event": "ping",
                        "X-GitHub-Delivery": "d-1",
                    },
                ),
                api.get("/api/info"),
                api.get("/api/runs/999999/jobs"),
                api.get("/api/metrics/summary?minutes=0"),
                api.get("/metrics"),
            ]
            assert [c.status_code for c in calls] == [200, 401, 422, 401, 200, 200, 404, 422, 200]
            # The alert's delivery was tried (and refused by the server).
            with psycopg.connect(url) as conn:
                wait_for(
                    lambda: conn.execute("select count(*) from alert_attempts").fetchone() != (0,),
                    timeout=60,
                )
                # Every connection dropped: the API, the listener and the worker log it.
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where usename = current_user and pid <> pg_backend_pid()"
                )
            wait_for(lambda: api.get("/health").status_code == 200, timeout=60)
            calls.append(api.get("/api/info"))
            answers = [json.dumps(dict(c.headers)) + c.text for c in calls]
            api.close()
        printed = up.output
        stored = [
            path.read_bytes().decode(errors="replace")
            for path in (tmp_path / "data").rglob("*")
            if path.is_file()
        ]
    assert "lost the database connection" in printed
    assert "not sent" in printed
    for name, secret in secrets.items():
        for form in _forms(secret):
            assert form not in printed, f"the {name} secret is in pulse up's output"
            assert not any(form in answer for answer in answers), f"the {name} secret answered"
            assert not any(form in text for text in stored), f"the {name} secret is in a file"
