"""The live hub's incremental summaries equal a fresh computation as of the time they carry.

TestLiveSummary drives analytics.incremental.LiveSummary directly in one transaction: ingests,
corrections, deletes and the window's edges passing runs and recoveries (the summary is
advanced to later and later times), and after every step compares its payload with
analytics.summary (run_summary) as of the same time, field for field: exact percentiles,
percentiles from histograms (exact_up_to=0) and a window that crosses the threshold between
the two. TestLiveHub does the same through a real `pulse api` and its WebSocket, with a
1-minute window whose edge passes runs while the test runs.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import analytics
from analytics.incremental import (
    Figures,
    LiveSummary,
    _percentile_cont,
    edge_crossings,
)
from analytics.models import Summary
from ingest_api.db import libpq_url, make_engine
from ingest_api.live.hub import Subscription, _advance_all, _Plan
from tests.api.support import TOKEN
from tests.factories import ingest
from tests.live.support import ApiProcessFactory, open_socket, receive

PIPELINES = ("web", "api", "docs", "infra")
STATUSES = ("success", "failure", "success", "failure", "running", "cancelled", "skipped")
# (minutes, pipeline, branch)
SCOPES = (
    (1, None, None),
    (60, None, None),
    (60, "api", None),
    (1, None, "main"),
    (1440, "web", "dev"),
)


def db_now(session: Session) -> datetime:
    value = session.execute(text("select now()")).scalar_one()
    assert isinstance(value, datetime)
    return value


def fresh(
    session: Session, scope: tuple[int, str | None, str | None], as_of: datetime, exact: int
) -> dict[str, Any]:
    minutes, pipeline, branch = scope
    summary = analytics.summary(
        session, minutes=minutes, pipeline=pipeline, branch=branch, exact_up_to=exact, as_of=as_of
    )
    return summary.model_dump(mode="json")


def pipeline_ids(session: Session, names: set[str]) -> set[int]:
    rows = session.execute(
        text("select id from pipelines where name = any(cast(:names as text[]))"),
        {"names": list(names)},
    )
    return set(rows.scalars())


def served(payload_json: str) -> dict[str, Any]:
    return Summary.model_validate(json.loads(payload_json)).model_dump(mode="json")


class TestLiveSummary:
    @pytest.mark.parametrize("exact_up_to", [2000, 0, 12])
    def test_each_advance_equals_run_summary_as_of_its_time(
        self, session: Session, exact_up_to: int
    ) -> None:
        rng = random.Random(exact_up_to)
        base = db_now(session)
        summaries = {
            scope: LiveSummary(scope[0], scope[1], scope[2], exact_up_to=exact_up_to)
            for scope in SCOPES
        }
        ids: list[tuple[int, str]] = []
        keys: list[tuple[str, str]] = []
        as_of = base - timedelta(seconds=30)
        for step in range(70):
            changed: set[str] | None = set()
            kind = rng.choice(("ingest",) * 5 + ("correct", "delete", "pass"))
            if kind == "ingest" or (kind == "correct" and not keys):
                pipeline = rng.choice(PIPELINES)
                status = rng.choice(STATUSES)
                # Near the 1-minute window's start (the edge passes it a few steps later),
                # near its end (it joins later: up to 20 s ahead), or well inside.
                offset = rng.choice(
                    (-60 + rng.uniform(0, 6), rng.uniform(-1, 20), -rng.uniform(0, 50))
                )
                started = as_of + timedelta(seconds=offset)
                external_id = f"k{step}" if rng.random() < 0.5 else None
                fields: dict[str, Any] = {
                    "pipeline": pipeline,
                    "status": status,
                    "started_at": started,
                    "branch": rng.choice(("main", "dev")),
                    "external_id": external_id,
                    "source": "incremental" if external_id else None,
                }
                if status != "running":
                    fields["duration_sec"] = round(rng.uniform(0.5, 30), 3)
                run = ingest(session, **fields)
                ids.append((run.id, pipeline))
                if external_id:
                    keys.append((pipeline, external_id))
                changed = {pipeline}
            elif kind == "correct":
                pipeline, external_id = rng.choice(keys)
                run = ingest(
                    session,
                    pipeline=pipeline,
                    status=rng.choice(("success", "failure", "cancelled")),
                    started_at=as_of - timedelta(seconds=rng.uniform(0, 61)),
                    duration_sec=round(rng.uniform(0.5, 30), 3),
                    branch=rng.choice(("main", "dev")),
                    external_id=external_id,
                    source="incremental",
                )
                if (run.id, pipeline) not in ids:
                    ids.append((run.id, pipeline))
                changed = {pipeline}
            elif kind == "delete" and ids:
                run_id, _ = ids.pop(rng.randrange(len(ids)))
                session.execute(text("select * from delete_run(:id)"), {"id": run_id})
                changed = None
            as_of += timedelta(seconds=rng.choice((0.2, 1, 3, 7)))
            known = None if changed is None else pipeline_ids(session, changed)
            for scope, live in summaries.items():
                figures = live.advance(session, known, as_of)
                assert figures.as_of == as_of
                expected = fresh(session, scope, as_of, exact_up_to)
                assert served(figures.payload_json) == expected, (step, kind, scope)
        # A later time with no change at all: only the edges move the figures.
        for later in (30, 61, 3600):
            for scope, live in summaries.items():
                at = as_of + timedelta(seconds=later)
                figures = live.advance(session, set(), at)
                assert served(figures.payload_json) == fresh(session, scope, at, exact_up_to)

    def test_overall_exact_percentiles_equal_percentile_cont(self, session: Session) -> None:
        """The hub merges the lines' durations and interpolates as PostgreSQL does, bit for
        bit, before the same rounding."""
        rng = random.Random(3)
        query = text(
            "select percentile_cont(0.5) within group (order by x),"
            " percentile_cont(0.95) within group (order by x)"
            " from unnest(cast(:xs as float8[])) as x"
        )
        for n in (1, 2, 3, 7, 20, 101, 1999):
            xs = sorted(rng.uniform(0, 3000) * rng.choice((1, 0.001)) for _ in range(n))
            p50, p95 = session.execute(query, {"xs": xs}).one()
            assert (_percentile_cont(xs, 0.5), _percentile_cont(xs, 0.95)) == (p50, p95), n

    def test_a_window_passing_a_run_keeps_the_health(self, session: Session) -> None:
        base = db_now(session)
        for minutes_ago in (30, 59):
            ingest(
                session,
                pipeline="web",
                status="failure",
                started_at=base - timedelta(minutes=minutes_ago),
                duration_sec=5,
            )
        live = LiveSummary(60, None, None)
        live.advance(session, set(), base)
        later = base + timedelta(minutes=2)  # the run of 59 minutes ago leaves the window
        crossings = edge_crossings(session, [live], later)
        assert [c.pipeline for span in crossings.values() for c in span] == ["web"]
        figures = live.advance(session, set(), later, crossings)
        assert figures.recomputed == 1
        assert served(figures.payload_json) == fresh(session, (60, None, None), later, 2000)

    def test_a_tick_recomputes_only_what_changed(self, session: Session) -> None:
        base = db_now(session)
        for i, pipeline in enumerate(PIPELINES * 3):
            ingest(
                session,
                pipeline=pipeline,
                status="success",
                started_at=base - timedelta(minutes=10 + i),
                duration_sec=5,
            )
        live = LiveSummary(60, None, None)
        assert live.advance(session, set(), base).recomputed == len(PIPELINES)
        ingest(session, pipeline="web", status="failure", started_at=base, duration_sec=1)
        figures = live.advance(session, pipeline_ids(session, {"web"}), base)
        assert figures.recomputed == 1
        assert served(figures.payload_json) == fresh(session, (60, None, None), base, 2000)
        # Nothing changed and no edge passed anything: nothing is recomputed.
        assert live.advance(session, set(), base + timedelta(seconds=1)).recomputed == 0

    def test_an_audit_mends_a_change_the_hub_missed(
        self, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The hub's periodic whole recomputation: a change it was never told of (here, a
        run stored behind its back) is in the figures it sends, and the miss is logged."""
        base = db_now(session)
        ingest(session, pipeline="web", status="success", started_at=base, duration_sec=5)
        subscription = Subscription(60, None, None)
        live = LiveSummary(60, None, None)
        live.advance(session, set(), base)
        ingest(session, pipeline="api", status="failure", started_at=base, duration_sec=2)

        untold = _Plan(subscription, True, live, set(), audit=False)
        (figures,) = _advance_all(session, [untold], base)
        assert isinstance(figures, Figures)
        assert json.loads(figures.payload_json)["total"] == 1
        assert not caplog.records

        audited = _Plan(subscription, True, live, set(), audit=True)
        (figures,) = _advance_all(session, [audited], base)
        assert isinstance(figures, Figures)
        assert served(figures.payload_json) == fresh(session, (60, None, None), base, 2000)
        assert json.loads(figures.payload_json)["total"] == 2
        (record,) = caplog.records
        assert record.levelname == "WARNING"
        assert "differed from a whole recomputation" in record.getMessage()
        # Once mended, an audit finds nothing to say.
        caplog.clear()
        _advance_all(session, [audited], base)
        assert not caplog.records


@pytest.mark.e2e
class TestLiveHub:
    def test_updates_follow_the_window_edge_exactly(
        self, api_process: ApiProcessFactory, db_url: str
    ) -> None:
        """Writes (ingests, a correction, a delete), then quiet: every update after the last
        write, each advanced from the one before by the edges alone, equals run_summary."""
        scopes = [(1, None, None), (60, "api", None), (1, None, "main")]
        rng = random.Random(7)
        with (
            api_process(PULSE_LIVE_TICK_MS="100", PULSE_LIVE_REFRESH_SEC="0.3") as api,
            psycopg.connect(libpq_url(db_url), autocommit=True) as conn,
            httpx.Client(base_url=api.url, timeout=30) as http,
            contextlib.ExitStack() as stack,
        ):

            def clock() -> datetime:
                row = conn.execute("select clock_timestamp()").fetchone()
                assert row is not None
                return row[0]  # type: ignore[no-any-return]

            sockets = [
                stack.enter_context(
                    open_socket(api, f"?minutes={m}&pipeline={p or ''}&branch={b or ''}")
                )
                for m, p, b in scopes
            ]
            ids = []
            for i in range(16):
                # Started 59.5 s ago and later: the 1-minute window's edge passes them within
                # the next seconds.
                status = rng.choice(STATUSES)
                body: dict[str, Any] = {
                    "pipeline": rng.choice(PIPELINES),
                    "status": status,
                    "started_at": (clock() - timedelta(seconds=59.5 - i * 0.1)).isoformat(),
                    "branch": rng.choice(("main", "dev")),
                    "commit": "5184f9c",
                    "triggered_by": "octocat",
                    "external_id": f"hub-{i}",
                    "source": "incremental",
                }
                if status != "running":
                    body["duration_sec"] = round(rng.uniform(0.5, 30), 3)
                ids.append(api.ingest(body)["id"])
                if i == 8:
                    api.ingest({**body, "status": "failure", "duration_sec": 2.5})
                    response = http.delete(
                        f"/api/runs/{ids.pop(0)}", headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                    assert response.status_code == 200, response.text
            quiet_since = clock()
            deadline = time.monotonic() + 3
            updates: list[list[dict[str, Any]]] = [[] for _ in scopes]
            while time.monotonic() < deadline:
                for socket, seen in zip(sockets, updates, strict=True):
                    with contextlib.suppress(TimeoutError):
                        message = receive(socket, timeout=0.05)
                        if message["type"] == "metrics_update":
                            seen.append(message["payload"])

        engine = make_engine(db_url, pool_size=1)
        try:
            with Session(engine) as session:
                checked = 0
                for scope, seen in zip(scopes, updates, strict=True):
                    for payload in seen:
                        as_of = datetime.fromisoformat(payload["as_of"])
                        if as_of <= quiet_since:
                            continue
                        got = Summary.model_validate(payload).model_dump(mode="json")
                        assert got == fresh(session, scope, as_of, 2000), (scope, as_of)
                        checked += 1
                assert checked >= 3 * len(scopes)
        finally:
            engine.dispose()
