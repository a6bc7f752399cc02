"""GET routes over real HTTP: runs, summary, pipelines, health, info, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session

import analytics
from ingest_api.db import make_engine
from ingest_api.errors import ErrorOut
from tests.api.support import Api, ApiFactory
from tests.factories import event_body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now(api: Api) -> datetime:
    with psycopg.connect(api.db_url) as conn:
        value = conn.execute("select now()").fetchone()
    assert value is not None
    return value[0]  # type: ignore[no-any-return]


def _seed(api: Api, count: int, *, start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or _now(api) - timedelta(hours=1)
    runs = []
    for i in range(count):
        body = event_body(
            pipeline=["web", "api"][i % 2],
            branch=["main", "dev", "main"][i % 3],
            status=["success", "failure", "success", "cancelled"][i % 4],
            # Pairs share a start, so pagination must break ties by id.
            started_at=_iso(start + timedelta(seconds=i // 2)),
            duration_sec=10 + i,
        )
        response = api.ingest(body)
        assert response.status_code == 200
        runs.append(response.json())
    return runs


class TestListRuns:
    def test_newest_first_default_20(self, api: Api) -> None:
        runs = _seed(api, 25)
        listed = api.client.get("/api/runs").json()
        expected = sorted(runs, key=lambda r: (r["started_at"], r["id"]), reverse=True)[:20]
        assert listed == expected

    def test_pages_walk_every_run_once(self, api: Api) -> None:
        runs = _seed(api, 23)
        seen: list[dict[str, Any]] = []
        url: str | None = "/api/runs?limit=5"
        pages = 0
        while url:
            response = api.client.get(url)
            seen.extend(response.json())
            cursor = response.headers.get("x-next-cursor")
            url = f"/api/runs?limit=5&before={cursor}" if cursor else None
            if cursor:
                assert f"before={cursor}" in response.headers["link"]
                assert response.headers["link"].endswith('rel="next"')
            pages += 1
        assert pages == 5
        assert [r["id"] for r in seen] == [
            r["id"] for r in sorted(runs, key=lambda r: (r["started_at"], r["id"]), reverse=True)
        ]

    def test_filters(self, api: Api) -> None:
        runs = _seed(api, 12)
        cases: list[tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = [
            ({"pipeline": "web"}, lambda r: r["pipeline"] == "web"),
            ({"branch": "dev"}, lambda r: r["branch"] == "dev"),
            ({"status": "cancelled"}, lambda r: r["status"] == "cancelled"),
            (
                {"pipeline": "api", "status": "failure"},
                lambda r: r["pipeline"] == "api" and r["status"] == "failure",
            ),
        ]
        for params, keep in cases:
            listed = api.client.get("/api/runs", params={**params, "limit": 500}).json()
            assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in runs if keep(r))
        assert api.client.get("/api/runs", params={"pipeline": "nope"}).json() == []
        everything = api.client.get("/api/runs", params={"limit": 500}).json()
        empty: dict[str, str | int] = {"pipeline": "", "branch": "", "limit": 500}
        assert api.client.get("/api/runs", params=empty).json() == everything

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"limit": "x"}, "limit"),
            ({"status": "green"}, "status"),
            ({"before": "not-a-cursor"}, "before"),
            ({"before": "MjAyNnwx"}, "before"),
        ],
    )
    def test_bad_parameters(self, api: Api, params: dict[str, Any], field: str) -> None:
        response = api.client.get("/api/runs", params=params)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"
        assert response.json()["detail"][0]["field"] == field


class TestSummary:
    def test_matches_analytics_and_seed_shape(self, api: Api) -> None:
        _seed(api, 16)
        body = api.client.get("/api/metrics/summary").json()
        for key in [
            "window_minutes",
            "total",
            "success",
            "failure",
            "success_rate",
            "avg_duration_sec",
            "last_status",
            "last_finished_at",
            "per_pipeline",
        ]:
            assert key in body
        engine = make_engine(api.db_url, pool_size=1)
        with Session(engine) as session:
            direct = analytics.summary(session, minutes=1440).model_dump(mode="json")
        engine.dispose()
        body.pop("as_of")
        direct.pop("as_of")
        assert body == direct
        assert body["total"] == 16
        assert (body["success"], body["failure"], body["cancelled"]) == (8, 4, 4)
        assert body["success_rate"] == 0.6667
        per = {p["pipeline"]: p for p in body["per_pipeline"]}
        assert set(per) == {"api", "web"}
        assert per["web"]["health"]["state"] in {"passing", "failing"}

    def test_window_and_filters(self, api: Api) -> None:
        now = _now(api)
        api.ingest(event_body(started_at=_iso(now - timedelta(minutes=90)), duration_sec=1))
        api.ingest(
            event_body(started_at=_iso(now - timedelta(minutes=30)), duration_sec=1, branch="dev")
        )
        assert api.client.get("/api/metrics/summary?minutes=60").json()["total"] == 1
        assert api.client.get("/api/metrics/summary?minutes=120").json()["total"] == 2
        assert api.client.get("/api/metrics/summary?branch=main").json()["total"] == 1
        assert api.client.get("/api/metrics/summary?pipeline=api").json()["total"] == 0
        # Empty filters, as the contract's URL template writes them, filter nothing.
        assert api.client.get("/api/metrics/summary?pipeline=&branch=").json()["total"] == 2

    @pytest.mark.parametrize("minutes", [0, -5, 525601, "day"])
    def test_bad_minutes(self, api: Api, minutes: Any) -> None:
        response = api.client.get("/api/metrics/summary", params={"minutes": minutes})
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "minutes"

    def test_a_year_is_allowed(self, api: Api) -> None:
        assert api.client.get("/api/metrics/summary?minutes=525600").status_code == 200


class TestPipelines:
    def test_branches_most_recent_first_and_health(self, api: Api) -> None:
        now = _now(api)
        for minutes_ago, branch, status in [
            (50, "main", "success"),
            (40, "dev", "failure"),
            (30, "main", "failure"),
            (20, "feat", "failure"),
        ]:
            api.ingest(
                event_body(
                    branch=branch,
                    status=status,
                    started_at=_iso(now - timedelta(minutes=minutes_ago)),
                    duration_sec=5,
                )
            )
        api.ingest(event_body(pipeline="api", status="running"))
        listed = api.client.get("/api/pipelines").json()
        assert [p["name"] for p in listed] == ["api", "web"]
        api_p, web = listed
        assert web["branches"] == ["feat", "main", "dev"]
        assert web["total_runs"] == 4
        assert web["health"]["state"] == "failing"
        assert web["health"]["failure_streak"] == 3
        assert api_p["health"]["state"] == "unknown"
        assert api_p["branches"] == ["main"]


class TestSystem:
    def test_health(self, api: Api) -> None:
        body = api.client.get("/health").json()
        assert body["ok"] is True
        assert body["time"].endswith("Z")

    def test_health_without_database_is_503(self, api_factory: ApiFactory) -> None:
        with api_factory(DATABASE_URL="postgresql://nobody:x@127.0.0.1:9/none") as api:
            response = api.client.get("/health")
            runs = api.client.get("/api/runs")
            ingest = api.ingest(event_body())
        assert response.status_code == 503
        assert (ingest.status_code, ingest.json()["error"]) == (503, "DatabaseUnavailable")
        assert response.json()["ok"] is False
        assert response.json()["error"] == "DatabaseUnavailable"
        assert runs.status_code == 503
        assert runs.json()["error"] == "DatabaseUnavailable"
        assert "x@" not in runs.text

    def test_info(self, api: Api) -> None:
        info = api.client.get("/api/info").json()
        assert info["product"] == "Pipeline Pulse"
        assert info["database"] == "external"
        assert info["database_version"][:2].isdigit()
        assert info["demo"] is True
        assert info["environment"] == "local"

    def test_unknown_route_and_method(self, api: Api) -> None:
        missing = api.client.get("/api/nothing")
        assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")
        wrong = api.client.delete("/api/runs")
        assert (wrong.status_code, wrong.json()["error"]) == (405, "MethodNotAllowed")

    def test_openapi_documents_the_contract(self, api: Api) -> None:
        spec = api.client.get("/openapi.json").json()
        assert {
            "/health",
            "/api/info",
            "/api/pipelines",
            "/api/events/run",
            "/api/runs",
            "/api/metrics/summary",
            "/api/simulate",
        } <= set(spec["paths"])
        assert "ValidationError" in spec["info"]["description"]
        assert "HTTPBearer" in spec["components"]["securitySchemes"]

    def test_openapi_describes_every_error_with_the_envelope(self, api: Api) -> None:
        spec = api.client.get("/openapi.json").json()
        assert "HTTPValidationError" not in spec["components"]["schemas"]
        errors = [
            (path, status, answer)
            for path, operations in spec["paths"].items()
            for operation in operations.values()
            for status, answer in operation["responses"].items()
            if int(status) >= 400
        ]
        assert len(errors) >= 12
        for path, status, answer in errors:
            assert "ErrorOut" in json.dumps(answer["content"]), (path, status)
        # And the bodies the API sends fit that schema.
        for response in (
            api.client.get("/api/nothing"),
            api.client.delete("/api/runs"),
            api.client.get("/api/metrics/summary?minutes=0"),
            api.client.post("/api/events/run", json={"pipeline": ""}),
        ):
            assert response.status_code >= 400
            ErrorOut.model_validate(response.json())
