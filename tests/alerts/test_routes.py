"""GET /api/alerts: newest first, paged by X-Next-Cursor, filtered by pipeline, open."""

from __future__ import annotations

import psycopg

from tests.alerts.factories import insert_alert
from tests.api.support import Api


class TestListAlerts:
    def test_newest_first_with_their_delivery(self, api: Api) -> None:
        first = insert_alert(api.db_url, pipeline="web", notify=False)
        second = insert_alert(api.db_url, pipeline="api", kind="failing", notify=False)
        with psycopg.connect(api.db_url, autocommit=True) as conn:
            conn.execute(
                "update alerts set state = 'sent', attempts = 1, sent_at = now() where id = %s",
                (first,),
            )
        response = api.client.get("/api/alerts")
        assert response.status_code == 200
        body = response.json()
        assert [a["id"] for a in body] == [second, first]
        assert body[1] == {
            "id": first,
            "kind": "failing",
            "pipeline": "web",
            "branch": "main",
            "run_id": None,
            "created_at": body[1]["created_at"],
            "state": "sent",
            "attempts": 1,
            "last_error": None,
            "sent_at": body[1]["sent_at"],
        }
        assert body[1]["created_at"].endswith("Z")
        assert "X-Next-Cursor" not in response.headers

    def test_pages_and_filters(self, api: Api) -> None:
        ids = [insert_alert(api.db_url, pipeline=f"p{n % 2}", notify=False) for n in range(5)]
        page = api.client.get("/api/alerts", params={"limit": 2})
        assert [a["id"] for a in page.json()] == ids[::-1][:2]
        cursor = page.headers["X-Next-Cursor"]
        assert 'rel="next"' in page.headers["Link"]
        rest = api.client.get("/api/alerts", params={"limit": 10, "before": cursor})
        assert [a["id"] for a in rest.json()] == ids[::-1][2:]
        only = api.client.get("/api/alerts", params={"pipeline": "p1"})
        assert [a["id"] for a in only.json()] == [ids[3], ids[1]]
        assert api.client.get("/api/alerts", params={"pipeline": "nope"}).json() == []

    def test_bad_parameters_answer_the_envelope(self, api: Api) -> None:
        bad = api.client.get("/api/alerts", params={"before": "not-a-cursor"})
        assert bad.status_code == 422
        assert bad.json() == {
            "error": "ValidationError",
            "detail": [{"field": "before", "message": "not a cursor from X-Next-Cursor"}],
        }
        assert api.client.get("/api/alerts", params={"limit": 0}).status_code == 422
