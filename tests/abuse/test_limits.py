"""Abuse: rate limits, oversized URLs and headers, deep JSON, odd bytes, live connection caps."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ingest_api.config import Settings
from ingest_api.middleware import MAX_HEADER_BYTES, MAX_JSON_DEPTH, MAX_URL_BYTES
from tests.api.support import TOKEN, Api, ApiFactory
from tests.factories import event_body
from tests.support import table_snapshot, wait_for


def raw_get(url: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A GET as sent, past the client-side URL checks httpx makes."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def ws_url(api: Api, query: str = "") -> str:
    return api.url.replace("http://", "ws://", 1) + "/ws/metrics" + query


class TestRateLimits:
    def test_ingest_is_limited_per_token(self, api_factory: ApiFactory) -> None:
        with api_factory(PULSE_RATE_LIMIT_INGEST="3/minute") as api:
            answers = [api.ingest(event_body(pipeline=f"p{i}")).status_code for i in range(4)]
            assert answers == [200, 200, 200, 429]
            refused = api.ingest(event_body(pipeline="late"))
            assert refused.json()["error"] == "RateLimited"
            assert "3 per 1 minute" in refused.json()["detail"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            # Another token has a count of its own (and is then refused for what it is);
            # reads are never limited.
            assert api.ingest(event_body(), token="another-token").status_code == 401
            assert api.client.get("/api/runs").status_code == 200
            assert {run["pipeline"] for run in api.client.get("/api/runs").json()} == {
                "p0",
                "p1",
                "p2",
            }

    def test_writes_without_a_token_are_limited_per_address(self, api_factory: ApiFactory) -> None:
        with api_factory(
            PULSE_RATE_LIMIT_PUBLIC="2/minute", PULSE_GITHUB_WEBHOOK_SECRET="s3cret"
        ) as api:
            unsigned = [
                api.client.post("/api/webhooks/github", json={}).status_code for _ in range(3)
            ]
            assert unsigned == [401, 401, 429]
            simulate = api.client.post("/api/simulate?count=1")
            assert simulate.status_code == 429
            assert int(simulate.headers["Retry-After"]) >= 1
            # The token holder is counted apart.
            assert api.ingest(event_body()).status_code == 200

    def test_off_means_no_limit(self, api_factory: ApiFactory) -> None:
        with api_factory(PULSE_RATE_LIMIT_INGEST="off") as api:
            assert {api.ingest(event_body(pipeline=f"p{i}")).status_code for i in range(30)} == {
                200
            }

    @pytest.mark.parametrize("value", ["fast", "10/fortnight", "-1/second"])
    def test_a_bad_rate_is_refused_at_start(self, db_url: str, value: str) -> None:
        with pytest.raises(ValueError, match="is not a rate"):
            Settings(_env_file=None, DATABASE_URL=db_url, PULSE_RATE_LIMIT_INGEST=value)

    def test_every_write_operation_states_its_429(self, api: Api) -> None:
        document = api.client.get("/openapi.json").json()
        writes = [
            (path, method, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if method in {"post", "delete"}
        ]
        assert len(writes) >= 5
        for path, method, operation in writes:
            assert "429" in operation["responses"], (method, path)


class TestOversizedRequests:
    def test_a_long_url_is_414(self, api: Api) -> None:
        status, body = raw_get(api.url, "/api/runs?branch=" + "b" * MAX_URL_BYTES)
        assert (status, json.loads(body)["error"]) == (414, "UriTooLong")
        assert raw_get(api.url, "/api/runs?unknown=" + "b" * 4000)[0] == 200
        # What the HTTP parser itself refuses (past 64 KiB here) is still a 4xx.
        assert raw_get(api.url, "/api/runs?branch=" + "b" * 100_000)[0] == 400

    @pytest.mark.parametrize(
        "headers",
        [
            {"X-Big": "a" * MAX_HEADER_BYTES},
            {f"X-Header-{i}": "a" for i in range(150)},
        ],
        ids=["one huge header", "too many headers"],
    )
    def test_oversized_headers_are_431(self, api: Api, headers: dict[str, str]) -> None:
        status, body = raw_get(api.url, "/api/runs", headers)
        assert (status, json.loads(body)["error"]) == (431, "HeadersTooLarge")

    def test_a_websocket_with_a_long_url_is_refused(self, api: Api) -> None:
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(api, "?branch=" + "b" * (MAX_URL_BYTES + 100)), open_timeout=30)
        assert refused.value.response.status_code == 414


class TestOddBodies:
    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
    def test_deep_json_is_422_with_nothing_written(self, api: Api, depth: int) -> None:
        before = table_snapshot(api.db_url)
        nested = "[" * depth + "]" * depth
        body = '{"pipeline": "web", "status": "success", "extra": ' + nested + "}"
        answer = api.client.post(
            "/api/events/run",
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 422
        assert answer.json() == {
            "error": "ValidationError",
            "detail": [
                {
                    "field": "body",
                    "message": f"JSON is limited to {MAX_JSON_DEPTH} levels of nesting",
                }
            ],
        }
        assert table_snapshot(api.db_url) == before

    def test_json_at_the_depth_limit_is_parsed(self, api: Api) -> None:
        nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
        body = '{"pipeline": "web", "status": "success", "extra": ' + nested + "}"
        answer = api.client.post(
            "/api/events/run",
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 200
        assert answer.headers["X-Pulse-Ignored-Fields"] == "extra"

    @pytest.mark.parametrize(
        "content",
        [b'{"pipeline": "w\xffeb", "status": "success"}', b"\xfe\xff\x00{"],
        ids=["invalid UTF-8 in a string", "a UTF-16 mark"],
    )
    def test_invalid_utf8_is_422(self, api: Api, content: bytes) -> None:
        before = table_snapshot(api.db_url)
        answer = api.client.post(
            "/api/events/run",
            content=content,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert (answer.status_code, answer.json()["error"]) == (422, "ValidationError")
        assert table_snapshot(api.db_url) == before

    def test_a_100_kb_name_is_422(self, api: Api) -> None:
        answer = api.ingest(event_body(pipeline="p" * 100_000))
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["field"] == "pipeline"


class TestLiveConnections:
    def test_connections_are_capped_per_address(self, api_factory: ApiFactory) -> None:
        with (
            api_factory(PULSE_WS_MAX_PER_ADDRESS="2") as api,
            connect(ws_url(api), open_timeout=30) as first,
            connect(ws_url(api), open_timeout=30),
        ):
            assert json.loads(first.recv(30))["type"] == "metrics_update"
            with pytest.raises(InvalidStatus) as refused:
                connect(ws_url(api), open_timeout=30)
            assert refused.value.response.status_code == 429
            assert json.loads(refused.value.response.body or b"")["error"] == "RateLimited"
            first.close()
            # A freed place can be taken again, once the server has seen the close.
            wait_for(lambda: _connects(ws_url(api)), timeout=30)


def _connects(url: str) -> bool:
    try:
        with connect(url, open_timeout=30) as socket:
            return bool(json.loads(socket.recv(30))["type"] == "metrics_update")
    except InvalidStatus:
        return False
