"""GET /metrics, read with prometheus-client's parser of the text format."""

from __future__ import annotations

import psycopg
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from tests.api.support import Api
from tests.factories import event_body


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    answer = api.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests_counted(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str
) -> float:
    key = ("pulse_http_request_duration_seconds_count", tuple(sorted(labels.items())))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    before = scrape(api)
    for i in range(3):
        assert api.ingest(event_body(pipeline=f"p{i}")).status_code == 200
    assert api.ingest(event_body(), token="wrong").status_code == 401
    run_id = api.client.get("/api/runs").json()[0]["id"]
    assert api.client.get(f"/api/runs/{run_id}/jobs").status_code == 200
    after = scrape(api)

    def grew(**labels: str) -> float:
        return requests_counted(after, **labels) - requests_counted(before, **labels)

    assert grew(method="POST", route="/api/events/run", status="200") == 3
    assert grew(method="POST", route="/api/events/run", status="401") == 1
    # One series per route, whatever the id in the path.
    assert grew(method="GET", route="/api/runs/{run_id}/jobs", status="200") == 1
    assert not any(str(run_id) in dict(labels).get("route", "") for _, labels in after)


def test_database_figures_match_the_tables(api: Api) -> None:
    for i in range(2):
        assert api.ingest(event_body(pipeline=f"p{i}")).status_code == 200
    samples = scrape(api)
    with psycopg.connect(api.db_url) as conn:
        waiting = conn.execute("select count(*) from history_changes").fetchone()
        pending = conn.execute("select count(*) from alerts where state = 'pending'").fetchone()
    assert samples[("pulse_database_up", ())] == 1
    assert waiting is not None
    assert pending is not None
    assert samples[("pulse_history_days_waiting", ())] == waiting[0] > 0
    assert samples[("pulse_alerts", (("state", "pending"),))] == pending[0]


def test_a_database_outage_is_a_figure_not_an_error(api: Api) -> None:
    database = make_url(api.db_url).database
    with psycopg.connect(_other_database(api.db_url), autocommit=True) as conn:
        # No new connections to the app's database, and its open ones ended.
        conn.execute(f'alter database "{database}" allow_connections false')
        try:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (database,),
            )
            samples = scrape(api)
        finally:
            conn.execute(f'alter database "{database}" allow_connections true')
    assert samples[("pulse_database_up", ())] == 0
    assert ("pulse_history_days_waiting", ()) not in samples


def _other_database(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)
