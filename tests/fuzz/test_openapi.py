"""Every operation of the app's own OpenAPI document, fuzzed by schemathesis over real HTTP
against the app on the real test PostgreSQL: with and without the ingest token, and the GitHub
webhook with and without a valid signature.

Over HTTP rather than in-process: uvicorn's parsing, the ASGI middleware (body, URL and header
limits) and the async write pool run as in production, and a slow request shows as one. Every
answer is a documented status with a documented body and content type, never a 5xx, and every
4xx/5xx is the error envelope. Examples are derandomized, so CI replays the same cases.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, CheckFunction, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.transport import DEFAULT_RESPONSE_TIMEOUT
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest_api.config import Settings
from ingest_api.errors import ErrorOut, PulseError
from ingest_api.main import create_app
from tests.api.support import TOKEN, Api
from tests.github.test_webhooks import sign

# The document `pulse openapi` prints (the first test checks the served app's is the same).
DOCUMENT = create_app(
    Settings(_env_file=None, DATABASE_URL="postgresql://unused@localhost/unused")
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config())

WEBHOOK = "POST /api/webhooks/github"
SIMULATE = "/api/simulate"
# Rules no JSON Schema the generator honours can state, so a schema-valid request may still
# be refused with a 422 envelope: cross-field timestamps and `formatMinimum` (ingest), the
# opaque `before` cursor (runs, alerts), names blank once trimmed (simulate), and a payload
# whose shape depends on the X-GitHub-Event header (webhook).
UNSTATED_RULES = {
    "POST /api/events/run",
    "GET /api/runs",
    "GET /api/alerts",
    "POST /api/simulate",
    WEBHOOK,
}
KINDS = {cls.status_code: cls.kind for cls in PulseError.__subclasses__()}
KINDS.update({400: "BadRequest", 405: "MethodNotAllowed"})


def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx/5xx body is `{"error": <Kind>, "detail": ...}` (plus `request_id` on a 5xx),
    with the kind its status names."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict), f"not an error envelope: {response.text[:200]}"
    assert set(body) <= {"error", "detail", "request_id"}, f"unexpected keys: {sorted(body)}"
    ErrorOut.model_validate(body)
    expected = KINDS.get(response.status_code, body["error"])
    assert body["error"] == expected, f"{response.status_code} is {expected}, not {body['error']}"
    return True


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    error_envelope,
]

# X-GitHub-Event and X-GitHub-Delivery are GitHub's, not in the document: drawn here so signed
# deliveries reach every branch of the route (run, job, ping, ignored; delivery id missing or
# too long).
GITHUB_HEADERS = st.fixed_dictionaries(
    {
        "X-GitHub-Event": st.sampled_from(["workflow_run", "workflow_job", "ping", "push"]),
        "X-GitHub-Delivery": st.sampled_from(["", "x" * 65]) | st.uuids().map(str),
    }
)


def _with_github_headers(drawn: tuple[Case[Any], dict[str, str]]) -> Case[Any]:
    case, headers = drawn
    case.headers.update(headers)
    return case


@schema.hook
def before_generate_case(context: HookContext, strategy: st.SearchStrategy[Case[Any]]) -> Any:
    if context.operation is None or context.operation.label != WEBHOOK:
        return strategy
    return st.tuples(strategy, GITHUB_HEADERS).map(_with_github_headers)


def _signed(case: Case[Any]) -> dict[str, Any]:
    """The body as the bytes to send, and their valid X-Hub-Signature-256."""
    if isinstance(case.body, NotSet):
        return {}
    # A negative case's body may already be raw bytes (not JSON at all).
    raw = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
    return {"data": raw, "headers": {"X-Hub-Signature-256": sign(raw)}}


def call_and_check(case: Case[Any], api: Api, *, credentials: bool) -> Response:
    """Send the case (with the token and a valid signature, or neither) and run the checks."""
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if credentials:
        headers["Authorization"] = f"Bearer {TOKEN}"
        if case.operation.label == WEBHOOK:
            signed = _signed(case)
            headers.update(signed.pop("headers", {}))
            extra.update(signed)
    # The fuzzer's own timeout: an answer slower than a client waits fails the case.
    response = case.call(
        base_url=api.url, headers=headers, timeout=DEFAULT_RESPONSE_TIMEOUT, **extra
    )
    checks = list(CHECKS)
    if case.operation.label not in UNSTATED_RULES:
        checks.append(positive_data_acceptance)
    case.validate_response(response, checks=checks, headers=headers)
    return response


def test_the_served_document_is_the_one_fuzzed(fuzzed: Api) -> None:
    # The introduction names the settings in force (the fixture turns rate limits off); the
    # operations and their schemas must be the ones fuzzed.
    served = fuzzed.client.get("/openapi.json").json()
    assert (served["paths"], served["components"]) == (DOCUMENT["paths"], DOCUMENT["components"])


EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True)

# The operations a token or a signature opens, read from the document itself.
CREDENTIALED = sorted(
    f"{method.upper()} {path}"
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if operation.get("security") or f"{method.upper()} {path}" == WEBHOOK
)


@schema.include(name=CREDENTIALED).parametrize()
@EXAMPLES
def test_with_credentials(case: Case[Any], fuzzed: Api) -> None:
    call_and_check(case, fuzzed, credentials=True)


# Every operation as anyone may call it: the reads (open, so a token changes nothing for them)
# and the writes, which without the token or signature are refused.
@schema.exclude(path=SIMULATE).parametrize()
@EXAMPLES
def test_without_credentials(case: Case[Any], fuzzed: Api) -> None:
    response = call_and_check(case, fuzzed, credentials=False)
    if case.operation.label in CREDENTIALED and case.method == case.operation.method.upper():
        # Refused, whatever else is wrong with it (the middleware's limits answer first).
        assert 400 <= response.status_code < 500, response.text[:200]


# Each example is real work (up to the documented 300 runs), so few of them; the boundary
# values are among them (schemathesis' coverage phase), and each must answer within the timeout.
@schema.include(path=SIMULATE).parametrize()
@settings(max_examples=5, deadline=None, derandomize=True)
def test_simulate(case: Case[Any], fuzzed: Api) -> None:
    call_and_check(case, fuzzed, credentials=False)
