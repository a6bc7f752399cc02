"""POST /api/simulate over real HTTP: demo runs through the ingest path, in demo mode only."""

from __future__ import annotations

import pytest

from tests.api.support import Api, ApiFactory


class TestSimulate:
    def test_creates_realistic_runs_without_a_token(self, api: Api) -> None:
        response = api.client.post(
            "/api/simulate?count=60&fail_rate=0.5", json={"pipelines": ["web", "api", "docs"]}
        )
        assert response.status_code == 200
        assert response.json() == {
            "created": 60,
            "pipelines": ["web", "api", "docs"],
            "source": "simulator",
        }
        runs = api.client.get("/api/runs?limit=500").json()
        assert len(runs) == 60
        assert {r["source"] for r in runs} == {"simulator"}
        assert {r["pipeline"] for r in runs} == {"web", "api", "docs"}
        assert all(len(r["commit"]) == 40 and int(r["commit"], 16) >= 0 for r in runs)
        assert all(r["status"] != "running" and r["finished_at"] for r in runs)
        assert 10 <= sum(r["status"] == "failure" for r in runs) <= 50
        assert "main" in {r["branch"] for r in runs}

    def test_default_body(self, api: Api) -> None:
        response = api.client.post("/api/simulate?count=5")
        assert response.json()["pipelines"] == ["web", "api"]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("count=0", "count"),
            ("count=10001", "count"),
            ("fail_rate=1.5", "fail_rate"),
            ("fail_rate=-0.1", "fail_rate"),
        ],
    )
    def test_bad_parameters(self, api: Api, query: str, field: str) -> None:
        response = api.client.post(f"/api/simulate?{query}")
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == field

    def test_forbidden_outside_demo_mode(self, api_factory: ApiFactory) -> None:
        with api_factory(PULSE_DEMO=False) as api:
            response = api.client.post("/api/simulate?count=5")
            assert api.client.get("/api/runs").json() == []
        assert response.status_code == 403
        assert "PULSE_DEMO=true" in response.json()["detail"]
