"""The error envelope: every 4xx/5xx body is `{"error": "<Kind>", "detail": ...}`.

Exception tree (the `kind` is the envelope's `error`)::

    PulseError
    ├── ValidationFailed     422 ValidationError   (malformed JSON included)
    ├── Unauthorized         401 Unauthorized
    ├── Forbidden            403 Forbidden
    ├── NotFound             404 NotFound
    ├── Conflict             409 Conflict
    ├── PayloadTooLarge      413 PayloadTooLarge
    ├── UriTooLong           414 UriTooLong
    ├── HeadersTooLarge      431 HeadersTooLarge
    ├── RateLimited          429 RateLimited
    └── DatabaseUnavailable  503 DatabaseUnavailable

Routes raise these, never a bare HTTPException.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("pulse.errors")

FieldErrors = list[dict[str, str]]

# SQLSTATEs raised by the functions in sql/functions.
SQLSTATE_INVALID = "PP422"
SQLSTATE_CONFLICT = "PP409"


class PulseError(Exception):
    status_code = 500
    kind = "InternalError"

    def __init__(self, detail: str | FieldErrors, *, headers: dict[str, str] | None = None):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers


class ValidationFailed(PulseError):
    status_code = 422
    kind = "ValidationError"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls([{"field": field, "message": message}])


class Unauthorized(PulseError):
    status_code = 401
    kind = "Unauthorized"


class Forbidden(PulseError):
    status_code = 403
    kind = "Forbidden"


class NotFound(PulseError):
    status_code = 404
    kind = "NotFound"


class Conflict(PulseError):
    status_code = 409
    kind = "Conflict"


class PayloadTooLarge(PulseError):
    status_code = 413
    kind = "PayloadTooLarge"


class UriTooLong(PulseError):
    status_code = 414
    kind = "UriTooLong"


class HeadersTooLarge(PulseError):
    status_code = 431
    kind = "HeadersTooLarge"


class RateLimited(PulseError):
    status_code = 429
    kind = "RateLimited"


class DatabaseUnavailable(PulseError):
    status_code = 503
    kind = "DatabaseUnavailable"


_KIND_BY_STATUS = {
    cls.status_code: cls.kind
    for cls in (
        ValidationFailed,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UriTooLong,
        HeadersTooLarge,
        RateLimited,
        DatabaseUnavailable,
    )
}
_KIND_BY_STATUS[405] = "MethodNotAllowed"
_KIND_BY_STATUS[400] = "BadRequest"


class FieldError(BaseModel):
    field: str = Field(description="The offending field (dotted path), or empty for the body.")
    message: str


class ErrorOut(BaseModel):
    """The error envelope: the body of every 4xx and 5xx answer."""

    error: str = Field(
        description="The kind: ValidationError, Unauthorized, Forbidden, NotFound, Conflict, "
        "PayloadTooLarge, UriTooLong, HeadersTooLarge, RateLimited, DatabaseUnavailable, "
        "MethodNotAllowed, BadRequest or "
        "InternalError.",
        examples=["ValidationError"],
    )
    detail: str | list[FieldError] = Field(
        description="A message, or for a ValidationError one entry per offending field."
    )
    request_id: str | None = Field(
        default=None,
        description="5xx answers only: the request's id (also in X-Request-ID), which the "
        "server's log line about the failure names.",
    )


def documented(answers: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error answers: each status with its meaning and the envelope."""
    return {status: {"model": ErrorOut, "description": text} for status, text in answers.items()}


# Every write route states it (ingest_api/ratelimit.py).
RATE_LIMITED = (
    "Too many writes: over PULSE_RATE_LIMIT_INGEST for this token, or over "
    "PULSE_RATE_LIMIT_PUBLIC for this address when neither a token nor a valid webhook "
    "signature is sent; Retry-After says when to try again."
)

# What any route may answer (routes add their own; theirs win).
COMMON_ERRORS = documented(
    {
        414: "The URL is over 4 KiB.",
        431: "Over 100 headers, or over 32 KiB of them.",
        503: "The database is unreachable or busy.",
    }
)


def envelope(kind: str, detail: Any, status_code: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail, **extra}, status_code=status_code)


def error_response(exc: PulseError, request_id: str | None = None) -> JSONResponse:
    # A 5xx names its request, so a user's report leads to the log line with the cause.
    extra = {"request_id": request_id} if request_id and exc.status_code >= 500 else {}
    response = envelope(exc.kind, exc.detail, exc.status_code, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def _answer(request: Request, exc: PulseError, cause: BaseException | None = None) -> JSONResponse:
    request_id = _request_id(request)
    if exc.status_code >= 500:
        log.warning(
            "%s %s answered %s %s [request %s]: %s",
            request.method,
            request.url.path,
            exc.status_code,
            exc.kind,
            request_id,
            f"{type(cause).__name__}: {cause}" if cause is not None else exc.detail,
        )
    return error_response(exc, request_id)


def _field_name(loc: tuple[int | str, ...]) -> str:
    # ("body", "duration_sec") -> "duration_sec"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def _reshape(errors: Any) -> FieldErrors:
    reshaped = []
    for err in errors:
        if err.get("type") == "json_invalid":
            reshaped.append(
                {
                    "field": "body",
                    "message": "malformed JSON: "
                    + err.get("ctx", {}).get("error", err.get("msg", "")),
                }
            )
        elif tuple(err["loc"]) == ("body",) and isinstance(err.get("input"), bytes):
            # A body that was not sent as JSON (e.g. curl -d without a Content-Type header).
            reshaped.append(
                {
                    "field": "body",
                    "message": "send a JSON object with Content-Type: application/json",
                }
            )
        else:
            reshaped.append({"field": _field_name(tuple(err["loc"])), "message": err["msg"]})
    return reshaped


def from_database(exc: DBAPIError | psycopg.Error) -> PulseError | None:
    """Map our functions' SQLSTATEs and connection failures onto the tree."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    connection_lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if isinstance(orig, psycopg.Error) and orig.diag.sqlstate in {
        SQLSTATE_INVALID,
        SQLSTATE_CONFLICT,
    }:
        field = orig.diag.column_name or "body"
        message = orig.diag.message_primary or "rejected"
        if orig.diag.sqlstate == SQLSTATE_CONFLICT:
            return Conflict(message)
        return ValidationFailed.field(field, message)
    if isinstance(orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return DatabaseUnavailable("the database was busy with a conflicting write; try again")
    if isinstance(orig, psycopg.OperationalError) or connection_lost:
        return DatabaseUnavailable("the database is unreachable; try again shortly")
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(PulseError)
    async def _pulse(request: Request, exc: PulseError) -> JSONResponse:
        return _answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return envelope("ValidationError", _reshape(exc.errors()), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _KIND_BY_STATUS.get(exc.status_code, "Error")
        response = envelope(kind, exc.detail, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(DBAPIError)
    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError | psycopg.Error)
        mapped = from_database(exc)
        if mapped is not None:
            return _answer(request, mapped, exc)
        request_id = _request_id(request)
        log.error(
            "database error in %s %s [request %s]",
            request.method,
            request.url.path,
            request_id,
            exc_info=exc,
        )
        return envelope("InternalError", "internal error", 500, request_id=request_id)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
        return _answer(request, DatabaseUnavailable("the database is unreachable; try again"), exc)
