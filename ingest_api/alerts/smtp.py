"""Talking to the SMTP server: one connection kept open while there is mail to send, every
attempt bounded by PULSE_SMTP_TIMEOUT_SEC as a whole, and error text safe to store and show."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from typing import Any

from ingest_api.config import Settings

_MAX_ERROR_CHARS = 500
_REDACTED = "[redacted]"


class SendTimeout(TimeoutError):
    """The attempt used up its time: the server accepted the connection but did not answer."""


class _Bounded(smtplib.SMTP):
    """smtplib's client whose every read and write gets only what is left of one deadline, so
    a server answering each command just before the socket timeout still cannot stretch an
    attempt past it (the claim's lease in delivery.py counts on that)."""

    def __init__(self, host: str, port: int, *, deadline: float, **kwargs: Any):
        # Set before the base class connects and reads the greeting.
        self.deadline = deadline
        super().__init__(host, port, timeout=max(deadline - time.monotonic(), 0.001), **kwargs)

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SendTimeout("timed out waiting for the SMTP server")
        if self.sock is not None:
            self.sock.settimeout(remaining)

    def send(self, s: bytes | str) -> None:  # type: ignore[override]
        self._arm()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._arm()
        return super().getreply()


class _BoundedTLS(_Bounded, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class Reply:
    code: int
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}".strip()


class SendFailed(Exception):
    """An attempt failed; `detail` is safe to store and show (no credential in it)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The system's CAs, plus PULSE_SMTP_CA_FILE's (a company relay's own CA)."""
    context = ssl.create_default_context()
    if settings.smtp_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    return context


class Mailer:
    """Sends messages with the settings' server and credentials. Not thread-safe: one per
    delivery thread. Call `close()` when the queue is empty, so no connection idles."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._context = tls_context(settings) if settings.smtp_security != "none" else None
        self._smtp: _Bounded | None = None

    def send(self, message: EmailMessage, recipients: list[str]) -> Reply:
        """Send `message` to `recipients`; the DATA reply. Raises SendFailed (sanitised)."""
        deadline = time.monotonic() + self._settings.smtp_timeout_sec
        try:
            return self._transact(message, recipients, deadline)
        except SendFailed:
            raise
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            self.close()
            raise SendFailed(self.sanitise(describe(exc))) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.deadline = time.monotonic() + min(self._settings.smtp_timeout_sec, 5)
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def sanitise(self, text: str) -> str:
        """`text` without the user name or password, in any form a server might echo."""
        user, password = self._settings.smtp_user or "", self._settings.smtp_password or ""
        secrets = {user, password}
        if user or password:
            for raw in (f"\0{user}\0{password}", user, password):
                secrets.add(base64.b64encode(raw.encode()).decode())
        # Longest first, so a password holding the user name goes whole.
        for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
            text = text.replace(secret, _REDACTED)
        return text[:_MAX_ERROR_CHARS]

    def _transact(self, message: EmailMessage, recipients: list[str], deadline: float) -> Reply:
        kept = self._smtp is not None
        if self._smtp is None:
            self._smtp = self._connect(deadline)
        smtp = self._smtp
        smtp.deadline = deadline
        sender = parseaddr(str(message["From"]))[1]
        try:
            code, answer = smtp.mail(sender)
        except smtplib.SMTPServerDisconnected:
            if not kept:
                raise
            # The server closed the connection we kept; nothing of this message was sent yet.
            self.close()
            smtp = self._smtp = self._connect(deadline)
            code, answer = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, sender)
        refused = []
        for recipient in recipients:
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused.append(f"{recipient}: {code} {answer.decode(errors='replace')}")
        if len(refused) == len(recipients):
            smtp.rset()
            raise SendFailed(self.sanitise("every recipient was refused: " + "; ".join(refused)))
        code, answer = smtp.data(message.as_bytes(policy=SMTP_POLICY))
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        reply = Reply(code, answer.decode(errors="replace"))
        if refused:
            return Reply(code, f"{reply.message} (refused: {'; '.join(refused)})")
        return reply

    def _connect(self, deadline: float) -> _Bounded:
        settings = self._settings
        host, port = settings.smtp_host, settings.smtp_port
        smtp: _Bounded
        if settings.smtp_security == "tls":
            smtp = _BoundedTLS(host, port, deadline=deadline, context=self._context)
        else:
            smtp = _Bounded(host, port, deadline=deadline)
        try:
            smtp.ehlo()
            if settings.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SendFailed(
                        f"{settings.smtp_host} does not offer STARTTLS; set PULSE_SMTP_SECURITY"
                        " to tls (port 465) or, for a relay on this machine, none"
                    )
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def describe(exc: BaseException) -> str:
    """An SMTP or network failure in one line: the server's code and words when it answered."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, SendFailed):
        return exc.detail
    # smtplib reports a read that timed out as a closed connection.
    timed_out = isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)
    if timed_out or isinstance(exc, SendTimeout | socket.timeout):
        return "timed out waiting for the SMTP server"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the server's certificate is not trusted ({exc.verify_message}); if it is signed"
            " by your own CA, set PULSE_SMTP_CA_FILE"
        )
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens on that host and port"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({exc})"
    return f"{type(exc).__name__}: {exc}"


def hint(detail: str, settings: Settings) -> str | None:
    """What to change, for the errors people meet setting up mail."""
    gmail = "gmail" in settings.smtp_host or "google" in settings.smtp_host
    if detail.startswith(("534", "535")):
        if gmail:
            return (
                "Gmail takes an app password, not your account's password: turn on 2-Step "
                "Verification, create one under Google Account > Security > App passwords, and "
                'put it in PULSE_SMTP_PASSWORD (README "Alerts").'
            )
        return "The server refused PULSE_SMTP_USER / PULSE_SMTP_PASSWORD."
    if detail.startswith(("530", "550", "553", "554")) and "auth" in detail.lower():
        return "The server wants a login: set PULSE_SMTP_USER and PULSE_SMTP_PASSWORD."
    if "timed out" in detail or "connection refused" in detail:
        return (
            "Check PULSE_SMTP_HOST and PULSE_SMTP_PORT, and that the port matches "
            "PULSE_SMTP_SECURITY (587: starttls, 465: tls)."
        )
    if "wrong version number" in detail.lower() or "WRONG_VERSION" in detail:
        return "Port and security disagree: 587 is starttls, 465 is tls."
    return None
