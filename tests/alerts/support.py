"""Real SMTP servers on loopback for the alert tests: aiosmtpd (with STARTTLS and AUTH when
asked), one that answers nothing, and a self-signed certificate authority."""

from __future__ import annotations

import asyncio
import email
import gc
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ingest_api.alerts.delivery import Delivery
from ingest_api.config import Settings
from ingest_api.processes import free_port
from tests.api.support import make_settings
from tests.support import wait_for

USER = "pulse@example.com"
PASSWORD = "app-password-S3cr3t-xyzzy"


@dataclass
class Inbox:
    """What the server accepted: one entry per DATA, in order."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
        return "250 2.0.0 Ok: queued as TEST"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@dataclass(frozen=True)
class Authority:
    ca_file: Path
    server_context: ssl.SSLContext


def make_authority(directory: Path) -> Authority:
    """A CA of our own and a certificate for 127.0.0.1 and localhost signed by it."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Authority(ca_file, context)


def _authenticator(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    host: str
    port: int
    inbox: Inbox
    controller: Controller | None = None

    running: bool = False

    def stop(self) -> None:
        if self.controller is not None and self.running:
            self.controller.stop()
            self.running = False

    def start(self) -> None:
        assert self.controller is not None
        self.controller.start()
        self.running = True


@contextmanager
def smtp_server(
    *,
    authority: Authority | None = None,
    auth: bool = False,
    port: int | None = None,
    started: bool = True,
) -> Iterator[Server]:
    """aiosmtpd on 127.0.0.1; with `authority`, STARTTLS required; with `auth`, AUTH with
    USER/PASSWORD required (after STARTTLS)."""
    inbox = Inbox()
    kwargs: dict[str, Any] = {}
    if authority is not None:
        kwargs.update(tls_context=authority.server_context, require_starttls=True)
    if auth:
        kwargs.update(auth_required=True, authenticator=_authenticator)
        kwargs["auth_require_tls"] = authority is not None
    server = Server("127.0.0.1", port or free_port(), inbox)
    # Our own loop, closed at the end: the controller leaves the one it makes open.
    loop = asyncio.new_event_loop()
    server.controller = Controller(
        inbox, hostname=server.host, port=server.port, loop=loop, **kwargs
    )
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()
        loop.close()
        # aiosmtpd drops the transport of a failed TLS handshake unclosed; collected here, its
        # ResourceWarning belongs to the test that caused it (which says it expects it).
        gc.collect()


@contextmanager
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never says a word; its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def alert_settings(url: str, tmp_path: Path, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "PULSE_SMTP_HOST": "127.0.0.1",
        "PULSE_SMTP_PORT": port,
        "PULSE_SMTP_SECURITY": "none",
        "PULSE_ALERT_TO": "dev@acme.test",
        "PULSE_ALERT_FROM": "Pipeline Pulse <alerts@acme.test>",
        "PULSE_SMTP_TIMEOUT_SEC": 5,
    }
    return make_settings(url, tmp_path, **(values | overrides))


def secure_settings(
    url: str, tmp_path: Path, port: int, authority: Authority, **o: Any
) -> Settings:
    values: dict[str, Any] = {
        "PULSE_SMTP_SECURITY": "starttls",
        "PULSE_SMTP_CA_FILE": str(authority.ca_file),
        "PULSE_SMTP_USER": USER,
        "PULSE_SMTP_PASSWORD": PASSWORD,
    }
    return alert_settings(url, tmp_path, port, **(values | o))


@contextmanager
def delivering(url: str, settings: Settings) -> Iterator[Delivery]:
    """A worker's delivery thread, listening before the block starts."""
    delivery = Delivery(url, settings)
    stop = threading.Event()
    thread = threading.Thread(target=delivery.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(delivery.ready.is_set, timeout=30)
        yield delivery
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()
