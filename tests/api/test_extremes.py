"""Extreme values never reach the database, and whatever is stored, every read still answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from tests.api.support import TOKEN, Api
from tests.factories import event_body
from tests.support import table_snapshot

READS = (
    "/health",
    "/api/info",
    "/api/pipelines",
    "/api/runs?limit=500",
    "/api/metrics/summary?minutes=60",
    "/api/metrics/summary",
    "/api/metrics/summary?minutes=525600",
    "/api/metrics/summary?minutes=525600&branch=main",
)

LONGEST = 35 * 86_400
MAX_LENGTHS = {
    "pipeline": 200,
    "branch": 255,
    "commit": 64,
    "triggered_by": 255,
    "external_id": 255,
    "source": 64,
    "url": 2048,
}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

# Raw JSON for the value: floats go out as JSON numbers, NaN-likes as the bare tokens some
# encoders write, strings as strings.
too_long = st.one_of(
    st.sampled_from([1e11, 1e12, 5.2e16, 1e308, LONGEST + 0.001, LONGEST + 1.0]),
    st.floats(min_value=LONGEST + 0.001, allow_infinity=False, allow_nan=False),
)
negative = st.one_of(
    st.sampled_from([-1.0, -1e-9, -0.001, -1e308]),
    st.floats(max_value=-1e-12, allow_infinity=False, allow_nan=False),
)
nan_like = st.sampled_from(["NaN", "Infinity", "-Infinity", '"NaN"', '"1e11"', "1e400"])
far_past = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(1999, 12, 31, 23, 59, 59, 999999)
).map(lambda t: json.dumps(t.isoformat() + "Z"))
far_future = st.datetimes(
    min_value=datetime.now() + timedelta(days=1), max_value=datetime(9999, 12, 31)
).map(lambda t: json.dumps(t.isoformat() + "Z"))
odd_times = st.sampled_from(
    [
        '"0000-01-01T00:00:00Z"',
        '"-0001-01-01T00:00:00Z"',
        '"+10000-01-01T00:00:00Z"',
        '"1999-12-31T23:59:59.999999Z"',
        '"0001-01-01T00:00:00+05:00"',
        '"9999-12-31T23:59:59-05:00"',
        "100000000000000000000",
        "-1",
        "1e11",
    ]
)

EXTREMES = st.one_of(
    st.tuples(st.just("duration_sec"), st.one_of(too_long, negative).map(json.dumps)),
    st.tuples(st.just("duration_sec"), nan_like),
    st.tuples(st.sampled_from(["started_at", "finished_at"]), far_past | far_future | odd_times),
    st.sampled_from(sorted(MAX_LENGTHS)).flatmap(
        lambda field: st.tuples(
            st.just(field),
            st.sampled_from([MAX_LENGTHS[field] + 1, 65_000, 100_000]).map(
                lambda n: json.dumps("x" * n)
            ),
        )
    ),
)


def _post_raw(api: Api, field: str, raw_value: str) -> int:
    body = {k: v for k, v in event_body(status="failure").items() if k != field}
    raw = json.dumps(body)[:-1] + f', "{field}": {raw_value}' + "}"
    response = api.client.post(
        "/api/events/run",
        content=raw,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, (field, raw_value[:80], response.text[:300])
    assert response.json()["error"] in {"ValidationError", "PayloadTooLarge"}
    return response.status_code


def _every_read_answers(api: Api) -> None:
    for path in READS:
        response = api.client.get(path)
        assert response.status_code == 200, (path, response.text[:300])


class TestExtremeValues:
    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=EXTREMES)
    def test_refused_with_nothing_written(self, api: Api, case: tuple[str, str]) -> None:
        field, raw_value = case
        before = table_snapshot(api.db_url)
        _post_raw(api, field, raw_value)
        assert table_snapshot(api.db_url) == before
        _every_read_answers(api)

    @pytest.mark.parametrize(
        "body",
        [
            event_body(duration_sec=LONGEST, started_at="2020-01-01T00:00:00Z"),
            event_body(duration_sec=0),
            event_body(duration_sec=5e-324),
            event_body(started_at="2000-01-01T00:00:00Z", duration_sec=0.001),
            event_body(finished_at="2000-01-01T00:00:01Z", duration_sec=1),
            event_body(pipeline="p" * 200, branch="b" * 255, commit="c" * 64),
            event_body(pipeline="🚀 déploiement", branch="feat/🙂", triggered_by="δ"),
            event_body(branch="'; drop table runs; --", commit="\\x00"),
        ],
        ids=[
            "35 days",
            "zero",
            "tiny",
            "first ms of 2000",
            "ends in 2000",
            "longest names",
            "emoji",
            "sql text",
        ],
    )
    def test_the_edges_inside_are_stored_and_read(self, api: Api, body: dict[str, Any]) -> None:
        response = api.ingest(body)
        assert response.status_code == 200, response.text
        stored = response.json()
        assert stored["pipeline"] == body["pipeline"]
        assert stored["branch"] == body["branch"]
        assert api.client.get("/api/runs?limit=1").json()[0]["id"] == stored["id"]
        _every_read_answers(api)


class TestStoredRowsOutOfRange:
    """A database an earlier version wrote, before the bounds: reads skip or show, never 500."""

    def test_every_read_answers(self, api: Api, caplog: pytest.LogCaptureFixture) -> None:
        good = api.ingest(event_body(duration_sec=3)).json()
        with psycopg.connect(api.db_url, autocommit=True) as conn:
            for name in ("duration_sec_range", "started_at_range", "finished_at_range"):
                conn.execute(f"alter table runs drop constraint ck_runs_{name}")
            pipeline_id = conn.execute("select id from pipelines").fetchone()
            assert pipeline_id is not None
            rows = [
                # 1e11 s back from now: 1143 BC, as a nanosecond Go duration made it.
                ("success", "now() - interval '100000000000 seconds'", "now()", "1e11"),
                ("failure", "'0001-01-01 00:00:00+00'", "'10000-01-01 00:00:00+00'", "1"),
                ("cancelled", "now() - interval '1 minute'", "now()", "'NaN'"),
                ("failure", "now() - interval '2 minutes'", "'infinity'", "120"),
            ]
            for status, started, finished, duration in rows:
                insert = sql.SQL(
                    "insert into runs (pipeline_id, status, started_at, finished_at, duration_sec,"
                    " branch, commit, triggered_by) values (%s, %s, {}, {}, {}, 'main', 'c', 'x')"
                ).format(sql.SQL(started), sql.SQL(finished), sql.SQL(duration))
                conn.execute(insert, (pipeline_id[0], status))
        _every_read_answers(api)
        listed = {run["id"]: run for run in api.client.get("/api/runs?limit=500").json()}
        assert good["id"] in listed
        # The NaN duration is shown as unknown; the runs that start out of range are skipped.
        assert any(
            run["status"] == "cancelled" and run["duration_sec"] is None for run in listed.values()
        )
        assert all(run["started_at"] is not None for run in listed.values())
        assert "cannot be shown" in caplog.text
