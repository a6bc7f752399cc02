"""POST /api/events/run over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.support import SEED_EXAMPLE, TOKEN, Api, ApiFactory, make_settings
from tests.factories import event_body
from tests.support import table_snapshot, wait_for

Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class TestIngestRun:
    def test_seed_example(self, api: Api) -> None:
        response = api.ingest(SEED_EXAMPLE)
        assert response.status_code == 200
        run = response.json()
        assert run == {
            **SEED_EXAMPLE,
            "duration_sec": 7.0,
            "id": run["id"],
            "external_id": None,
            "source": "api",
            "url": None,
            "attempt": None,
            "conclusion": None,
        }
        assert isinstance(run["id"], int)

    def test_timestamps_are_utc_with_z(self, api: Api) -> None:
        run = api.ingest(event_body(started_at="2026-11-01T14:00:00+02:00", duration_sec=60)).json()
        assert run["started_at"] == "2026-11-01T12:00:00Z"
        assert run["finished_at"] == "2026-11-01T12:01:00Z"

    def test_naive_timestamps_are_utc(self, api: Api) -> None:
        run = api.ingest(event_body(started_at="2026-11-01T12:00:00", duration_sec=1)).json()
        assert run["started_at"] == "2026-11-01T12:00:00Z"

    def test_defaults_use_the_database_clock(self, api: Api) -> None:
        run = api.ingest(event_body(status="running")).json()
        assert Z_TIME.match(run["started_at"])
        assert run["finished_at"] is None
        assert run["duration_sec"] is None

    def test_unknown_fields_are_ignored(self, api: Api) -> None:
        response = api.ingest({**event_body(duration_sec=1), "workflow": "ci.yml", "x": [1]})
        assert response.status_code == 200
        assert "workflow" not in response.json()

    def test_lifecycle_over_http(self, api: Api) -> None:
        key: dict[str, Any] = {"external_id": "1234-1", "source": "github"}
        started = api.ingest(
            event_body(status="running", started_at="2026-11-01T12:00:00Z", **key)
        ).json()
        done = api.ingest(
            {"pipeline": "web", "status": "failure", "finished_at": "2026-11-01T12:05:00Z", **key}
        ).json()
        assert done["id"] == started["id"]
        assert (done["status"], done["duration_sec"], done["branch"]) == ("failure", 300.0, "main")
        again = api.ingest(
            {"pipeline": "web", "status": "failure", "finished_at": "2026-11-01T12:05:00Z", **key}
        ).json()
        assert again == done
        late = api.ingest(event_body(status="running", **key)).json()
        assert late == done
        assert len(table_snapshot(api.db_url)["runs"]) == 1

    def test_a_client_reads_its_own_write(self, api: Api) -> None:
        # The transaction commits before the 200 goes out, never after.
        for i in range(25):
            run = api.ingest(event_body(status="running", commit=f"{i:07x}")).json()
            assert api.client.get("/api/runs?limit=1").json()[0]["id"] == run["id"]

    def test_pipeline_clash_is_409(self, api: Api) -> None:
        api.ingest(event_body(pipeline="web", duration_sec=1, external_id="k"))
        before = table_snapshot(api.db_url)
        response = api.ingest(event_body(pipeline="other", duration_sec=1, external_id="k"))
        assert response.status_code == 409
        assert response.json()["error"] == "Conflict"
        assert "web" in response.json()["detail"]
        assert table_snapshot(api.db_url) == before


def _long(n: int) -> str:
    return "x" * n


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("missing pipeline", {"status": "success"}, "pipeline"),
    ("empty pipeline", event_body(pipeline=""), "pipeline"),
    ("blank pipeline", event_body(pipeline="   "), "pipeline"),
    ("long pipeline", event_body(pipeline=_long(201)), "pipeline"),
    ("missing status", {"pipeline": "web"}, "status"),
    ("unknown status", event_body(status="passed"), "status"),
    ("negative duration", event_body(duration_sec=-1), "duration_sec"),
    ("string duration", {**event_body(), "duration_sec": "fast"}, "duration_sec"),
    ("bad timestamp", event_body(started_at="yesterday"), "started_at"),
    ("long branch", event_body(branch=_long(256)), "branch"),
    ("long commit", event_body(commit=_long(65)), "commit"),
    ("long actor", event_body(triggered_by=_long(256)), "triggered_by"),
    ("long external id", event_body(external_id=_long(256)), "external_id"),
    ("long source", event_body(source=_long(65)), "source"),
    ("ftp url", event_body(url="ftp://ci.example/1"), "url"),
    ("relative url", event_body(url="/runs/1"), "url"),
    ("long url", event_body(url="https://ci.example/" + _long(2040)), "url"),
    ("NUL in branch", event_body(branch="ma\x00in"), "branch"),
    (
        "finish before start",
        event_body(started_at="2026-11-01T12:00:00Z", finished_at="2026-11-01T11:00:00Z"),
        "finished_at",
    ),
    (
        "disagreeing duration",
        event_body(
            started_at="2026-11-01T12:00:00Z", finished_at="2026-11-01T12:00:10Z", duration_sec=20
        ),
        "duration_sec",
    ),
    ("far future", event_body(started_at="2999-01-01T00:00:00Z", duration_sec=1), "started_at"),
    (
        "running with finish",
        event_body(status="running", finished_at="2026-11-01T12:00:00Z"),
        "finished_at",
    ),
    ("a list", [event_body()], "body"),
    # Bounds (issue 12): a Go time.Duration in nanoseconds, years outside 2000..now + 5 min.
    ("nanosecond duration 1e11", event_body(duration_sec=1e11), "duration_sec"),
    ("duration 1e12", event_body(duration_sec=1e12), "duration_sec"),
    ("duration 5.2e16", event_body(duration_sec=5.2e16), "duration_sec"),
    ("duration 35 days + 1 ms", event_body(duration_sec=3_024_000.001), "duration_sec"),
    ("year 0001", event_body(started_at="0001-01-01T00:00:00Z", duration_sec=1), "started_at"),
    (
        "year 0001 with an offset",
        event_body(started_at="0001-01-01T00:00:00+05:00", duration_sec=1),
        "started_at",
    ),
    (
        "a microsecond before 2000",
        event_body(started_at="1999-12-31T23:59:59.999999Z", duration_sec=1),
        "started_at",
    ),
    (
        "finished before 2000",
        event_body(finished_at="1999-12-31T23:59:59Z", status="failure"),
        "finished_at",
    ),
    (
        "derived start before 2000",
        event_body(finished_at="2000-01-01T00:00:10Z", duration_sec=100),
        "started_at",
    ),
    (
        "317 years",
        event_body(started_at="2001-01-01T00:00:00Z", finished_at="2318-01-01T00:00:00Z"),
        "finished_at",
    ),
    (
        "36 days by timestamps",
        event_body(started_at="2020-01-01T00:00:00Z", finished_at="2020-02-06T00:00:00Z"),
        "finished_at",
    ),
    ("year 9999", event_body(started_at="9999-12-31T23:59:59Z"), "started_at"),
]


class TestIngestRejections:
    @pytest.fixture
    def baseline(self, api: Api) -> Iterator[dict[str, Any]]:
        api.ingest(event_body(duration_sec=3, external_id="existing"))
        before = table_snapshot(api.db_url)
        yield before
        assert table_snapshot(api.db_url) == before, "a rejected request wrote something"

    @pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
    def test_bad_body_is_422(
        self, api: Api, baseline: dict[str, Any], case: str, body: Any, field: str
    ) -> None:
        response = api.client.post(
            "/api/events/run", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 422, response.text
        payload = response.json()
        assert payload["error"] == "ValidationError"
        assert field in [item["field"] for item in payload["detail"]]

    @pytest.mark.parametrize("raw", ["{bad", "", "nul", '{"pipeline": "web", "status":'])
    def test_malformed_json_is_422(self, api: Api, baseline: dict[str, Any], raw: str) -> None:
        response = api.client.post(
            "/api/events/run",
            content=raw,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"

    def test_nan_duration_is_422(self, api: Api, baseline: dict[str, Any]) -> None:
        raw = json.dumps({**event_body(), "duration_sec": float("nan")})
        assert "NaN" in raw
        response = api.client.post(
            "/api/events/run",
            content=raw,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "duration_sec"

    def test_form_body_says_to_send_json(self, api: Api, baseline: dict[str, Any]) -> None:
        response = api.client.post(
            "/api/events/run",
            content=json.dumps(event_body()),
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert response.status_code == 422
        assert "application/json" in response.json()["detail"][0]["message"]

    def test_body_over_1_mib_is_413(self, api: Api, baseline: dict[str, Any]) -> None:
        body = {**event_body(), "padding": "x" * (1024 * 1024)}
        response = api.ingest(body)
        assert response.status_code == 413
        assert response.json()["error"] == "PayloadTooLarge"

    def test_streamed_body_over_1_mib_is_413(self, api: Api, baseline: dict[str, Any]) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"pipeline": "web", "status": "success", "padding": "'
            for _ in range(20):
                yield b"x" * 65536
            yield b'"}'

        response = api.client.post(
            "/api/events/run",
            content=chunks(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status_code == 413

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ],
        ids=["missing", "wrong", "basic", "bare"],
    )
    def test_token_is_required(
        self, api: Api, baseline: dict[str, Any], headers: dict[str, str]
    ) -> None:
        response = api.client.post("/api/events/run", json=event_body(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text


class TestIngestWithoutToken:
    def test_closed_with_a_how_to(self, api_factory: ApiFactory) -> None:
        with api_factory(PULSE_INGEST_TOKEN=None) as api:
            response = api.ingest(event_body(), token="anything")
        assert response.status_code == 401
        assert "PULSE_INGEST_TOKEN" in response.json()["detail"]

    def test_token_file_is_read_and_rotation_applies(
        self, api_factory: ApiFactory, tmp_path: Any
    ) -> None:
        from ingest_api.config import write_new_token

        first = write_new_token(tmp_path / "ingest-token")
        with api_factory(PULSE_INGEST_TOKEN=None) as api:
            assert api.ingest(event_body(duration_sec=1), token=first).status_code == 200
            second = write_new_token(tmp_path / "ingest-token")
            assert api.ingest(event_body(duration_sec=1), token=first).status_code == 401
            assert api.ingest(event_body(duration_sec=1), token=second).status_code == 200

    def test_placeholder_token_is_refused(self, db_url: str, tmp_path: Any) -> None:
        with pytest.raises(ValueError, match="placeholder"):
            make_settings(db_url, tmp_path, PULSE_INGEST_TOKEN="changeme")


def test_cors_is_an_allowlist(api: Api) -> None:
    allowed = api.client.options(
        "/api/events/run",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:5173"
    refused = api.client.get("/api/runs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    assert isinstance(refused, httpx.Response)


class TestBounds:
    def test_the_edges_are_accepted(self, api: Api) -> None:
        longest = api.ingest(
            event_body(started_at="2020-01-01T00:00:00Z", duration_sec=3_024_000)
        ).json()
        assert (longest["duration_sec"], longest["finished_at"]) == (
            3_024_000.0,
            "2020-02-05T00:00:00Z",
        )
        first = api.ingest(event_body(started_at="2000-01-01T00:00:00Z", duration_sec=0)).json()
        assert first["started_at"] == first["finished_at"] == "2000-01-01T00:00:00Z"

    def test_the_openapi_document_states_them(self, api: Api) -> None:
        schema = api.client.get("/openapi.json").json()["components"]["schemas"]["RunEvent"]
        fields = schema["properties"]
        duration = next(o for o in fields["duration_sec"]["anyOf"] if o.get("type") == "number")
        assert (duration["minimum"], duration["maximum"]) == (0, 3_024_000)
        started = next(o for o in fields["started_at"]["anyOf"] if o.get("type") == "string")
        assert started["format"] == "date-time"
        assert fields["started_at"]["formatMinimum"] == "2000-01-01T00:00:00Z"
        lengths = {
            name: next(o for o in fields[name]["anyOf"] if o.get("type") == "string")["maxLength"]
            for name in ("branch", "commit", "triggered_by", "external_id", "url")
        }
        assert lengths == {
            "branch": 255,
            "commit": 64,
            "triggered_by": 255,
            "external_id": 255,
            "url": 2048,
        }
        assert (fields["pipeline"]["minLength"], fields["pipeline"]["maxLength"]) == (1, 200)

    def test_the_database_refuses_what_the_api_would(self, api: Api) -> None:
        # A writer that bypasses the API (psql, a bulk load) meets the same bounds.
        import psycopg

        with psycopg.connect(api.db_url) as conn:
            api.ingest(event_body(duration_sec=1))
            for assignment in (
                "duration_sec = 1e11",
                "started_at = '0001-01-01', finished_at = '0001-01-02'",
                "finished_at = started_at - interval '1 s'",
                "started_at = 'infinity', finished_at = 'infinity'",
            ):
                with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                    conn.execute(f"update runs set {assignment}")


class TestTidying:
    def test_branch_commit_and_actor_are_trimmed(self, api: Api) -> None:
        run = api.ingest(
            event_body(branch=" main ", commit=" 5184f9c\n", triggered_by="\toctocat ")
        ).json()
        assert (run["branch"], run["commit"], run["triggered_by"]) == ("main", "5184f9c", "octocat")

    def test_ignored_fields_are_named(self, api: Api) -> None:
        response = api.ingest({**event_body(), "duration": 42, "jöb": 1, "run id": "x"})
        assert response.status_code == 200
        header = response.headers["X-Pulse-Ignored-Fields"]
        assert header == "duration, j%C3%B6b, run%20id"
        assert api.ingest(event_body()).headers.get("X-Pulse-Ignored-Fields") is None


class TestFailureAfterTheWrite:
    def test_a_5xx_leaves_nothing_behind_and_names_its_request(
        self, api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        from ingest_api.runs import service

        def broken(row: dict[str, Any], event: Any) -> Any:
            raise RuntimeError("the answer could not be built")

        api.ingest(event_body(duration_sec=1))
        before = table_snapshot(api.db_url)
        monkeypatch.setattr(service, "_run_out", broken)
        response = api.ingest(event_body(duration_sec=2))
        assert response.status_code == 500
        body = response.json()
        assert body["error"] == "InternalError"
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert table_snapshot(api.db_url) == before
        traceback = [r for r in caplog.records if r.name == "pulse.errors"]
        assert any(body["request_id"] in r.getMessage() and r.exc_info for r in traceback)


class TestAccessLog:
    def test_a_line_per_request(self, api: Api, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level("INFO", logger="pulse.access")
        api.ingest(event_body(duration_sec=1))
        api.client.get("/api/runs?limit=1", headers={"X-Request-ID": "from-the-client-1"})
        api.client.get("/api/runs?limit=0")

        def lines() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "pulse.access"]

        # Each line is written once its answer has gone out: wait for the last one.
        wait_for(lambda: any(line.startswith("GET /api/runs 422 ") for line in lines()))
        posted = re.compile(r"POST /api/events/run 200 [\d.]+ ms \[request \w+\]")
        echoed = re.compile(r"GET /api/runs 200 [\d.]+ ms \[request from-the-client-1\]")
        assert any(posted.match(line) for line in lines())
        assert any(echoed.match(line) for line in lines())
        assert TOKEN not in caplog.text
