"""Ingest access: a bearer token compared in constant time; the token is never logged."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest_api.config import Settings, read_token_file
from ingest_api.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="PULSE_INGEST_TOKEN")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class TokenSource:
    """The configured ingest token: PULSE_INGEST_TOKEN, else the data dir's token file.

    The file is re-read when it changes, so `pulse token --rotate` applies without a restart.
    """

    def __init__(self, settings: Settings) -> None:
        self._fixed = settings.ingest_token
        self._path: Path = settings.token_file
        self._stamp: tuple[int, int] | None = None
        self._cached: str | None = None

    def current(self) -> str | None:
        if self._fixed:
            return self._fixed
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._stamp, self._cached = None, None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._cached = read_token_file(self._path)
            self._stamp = stamp
        return self._cached


async def require_ingest_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = request.app.state.tokens.current()
    if expected is None:
        raise Unauthorized(
            "ingest is closed: no token is configured. Set PULSE_INGEST_TOKEN, or run "
            "`pulse token` to create one in the data dir.",
            headers=_CHALLENGE,
        )
    if credentials is None:
        raise Unauthorized(
            "send the ingest token as `Authorization: Bearer <token>`", headers=_CHALLENGE
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("the ingest token does not match", headers=_CHALLENGE)


IngestAuth = Depends(require_ingest_token)
