"""DELETE /api/runs/{id} and DELETE /api/pipelines/{name} over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import TOKEN, Api
from tests.factories import event_body
from tests.support import table_snapshot

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class TestDeleteRun:
    def test_removes_and_answers_the_run(self, api: Api) -> None:
        kept = api.ingest(event_body(duration_sec=10)).json()
        gone = api.ingest(event_body(duration_sec=20, status="failure")).json()
        response = api.client.delete(f"/api/runs/{gone['id']}", headers=AUTH)
        assert response.status_code == 200
        assert response.json() == gone
        assert [run["id"] for run in api.client.get("/api/runs").json()] == [kept["id"]]
        summary = api.client.get("/api/metrics/summary").json()
        assert (summary["total"], summary["failure"], summary["avg_duration_sec"]) == (1, 0, 10.0)
        health = api.client.get("/api/pipelines").json()[0]["health"]
        assert (health["state"], health["last_failure_at"]) == ("passing", None)

    def test_absent_is_404(self, api: Api) -> None:
        response = api.client.delete("/api/runs/987654", headers=AUTH)
        assert response.status_code == 404
        assert response.json() == {"error": "NotFound", "detail": "no run has id 987654"}

    @pytest.mark.parametrize("path", ["/api/runs/0", "/api/runs/abc", "/api/runs/1e3"])
    def test_bad_id_is_422(self, api: Api, path: str) -> None:
        assert api.client.delete(path, headers=AUTH).status_code == 422

    @pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
    def test_token_required(self, api: Api, headers: dict[str, str]) -> None:
        run = api.ingest(event_body(duration_sec=1)).json()
        before = table_snapshot(api.db_url)
        response = api.client.delete(f"/api/runs/{run['id']}", headers=headers)
        assert response.status_code == 401
        assert table_snapshot(api.db_url) == before


class TestDeletePipeline:
    def test_a_name_with_slashes(self, api: Api) -> None:
        for status in ("success", "failure", "success"):
            api.ingest(event_body(pipeline="acme/web/CI", status=status, duration_sec=5))
        other = api.ingest(event_body(pipeline="docs", duration_sec=5)).json()
        response = api.client.delete("/api/pipelines/acme/web/CI", headers=AUTH)
        assert response.status_code == 200
        assert response.json() == {"pipeline": "acme/web/CI", "runs_deleted": 3}
        assert [p["name"] for p in api.client.get("/api/pipelines").json()] == ["docs"]
        runs: list[dict[str, Any]] = api.client.get("/api/runs").json()
        assert [run["id"] for run in runs] == [other["id"]]
        # The name is free again: a new run starts the pipeline afresh.
        again = api.ingest(event_body(pipeline="acme/web/CI", status="failure", duration_sec=1))
        assert again.status_code == 200
        fresh = next(
            p for p in api.client.get("/api/pipelines").json() if p["name"] == "acme/web/CI"
        )
        assert (fresh["total_runs"], fresh["health"]["failure_streak"]) == (1, 1)

    def test_absent_is_404_and_token_required(self, api: Api) -> None:
        assert api.client.delete("/api/pipelines/nope", headers=AUTH).status_code == 404
        api.ingest(event_body(pipeline="web", duration_sec=1))
        before = table_snapshot(api.db_url)
        assert api.client.delete("/api/pipelines/web").status_code == 401
        assert table_snapshot(api.db_url) == before
