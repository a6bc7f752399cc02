"""WS /ws/metrics against `pulse api` processes: snapshot, updates, coalescing, fan-out across
processes, a database restart, back-pressure, origins, parameters and shutdown."""

from __future__ import annotations

import functools
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from websockets.exceptions import InvalidStatus

from ingest_api.db import make_engine
from ingest_api.embedded_pg import EmbeddedPostgres
from ingest_api.migrate import upgrade
from ingest_api.runs import service
from ingest_api.runs.schemas import RunEvent
from tests.api.support import TOKEN
from tests.factories import event_body
from tests.live.support import (
    ApiProcessFactory,
    open_socket,
    read_until_closed,
    receive,
    receive_run_and_total,
    receive_until,
    without_as_of,
)

pytestmark = pytest.mark.e2e


def recent(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def lists(message: dict[str, Any], run_id: int) -> bool:
    return message["type"] == "runs_update" and run_id in {r["id"] for r in message["payload"]}


def ingest_directly(url: str, bodies: list[dict[str, Any]]) -> None:
    """Write runs behind the API's back, through the same database function."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            for body in bodies:
                service.ingest(session, RunEvent.model_validate(body))
    finally:
        engine.dispose()


def test_snapshot_then_one_ingest_moves_the_figures_and_lists_the_run(
    api_process: ApiProcessFactory,
) -> None:
    with api_process() as api:
        api.ingest(
            event_body(pipeline="web", status="failure", started_at=recent(30), duration_sec=60)
        )
        api.ingest(event_body(pipeline="api", status="success", started_at=recent(20)))
        with open_socket(api, "?minutes=60") as ws:
            snapshot = receive(ws)
            assert snapshot["type"] == "metrics_update"
            assert snapshot["as_of"] == snapshot["payload"]["as_of"]
            expected = api.get("/api/metrics/summary?minutes=60")
            assert without_as_of(snapshot["payload"]) == without_as_of(expected)
            assert snapshot["payload"]["total"] == 2

            run = api.ingest(
                event_body(pipeline="web", status="success", started_at=recent(1), duration_sec=42)
            )
            update, seen = receive_until(
                ws,
                lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 3,
            )
            assert update["payload"]["success"] == 2
            web = next(p for p in update["payload"]["per_pipeline"] if p["pipeline"] == "web")
            assert web["health"]["state"] == "passing"
            assert without_as_of(update["payload"]) == without_as_of(
                api.get("/api/metrics/summary?minutes=60")
            )
            # The run is listed as /api/runs shows it (with it, perhaps, runs that changed just
            # before the client connected).
            listed = [m for m in seen if lists(m, run["id"])]
            changes = (
                listed[0]
                if listed
                else receive_until(ws, functools.partial(lists, run_id=run["id"]))[0]
            )
            assert api.get("/api/runs?limit=1")[0] in changes["payload"]
            assert changes["payload"][0]["id"] == run["id"]


def test_a_burst_of_1000_ingests_is_coalesced_and_ends_on_the_exact_summary(
    api_process: ApiProcessFactory,
) -> None:
    # The socket is read only after the burst: an unbounded client queue keeps its reader
    # thread taking frames (and answering the server's pings) however long the burst takes.
    with api_process() as api, open_socket(api, "?minutes=120", max_queue=None) as ws:
        assert receive(ws)["payload"]["total"] == 0
        bodies = [
            event_body(
                pipeline=f"p{i % 7}",
                branch=["main", "dev"][i % 2],
                status=["success", "failure", "running", "cancelled"][i % 4],
                started_at=recent(100 * (i / 1000)),
                duration_sec=None if i % 4 == 2 else 10 + i % 50,
                external_id=f"burst-{i}",
                source="test",
            )
            for i in range(1000)
        ]
        with ThreadPoolExecutor(8) as pool:
            ids = {run["id"] for run in pool.map(api.ingest, bodies)}
        assert len(ids) == 1000

        last, seen = receive_until(
            ws, lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 1000
        )
        assert without_as_of(last["payload"]) == without_as_of(
            api.get("/api/metrics/summary?minutes=120")
        )
        listed = {run["id"] for m in seen if m["type"] == "runs_update" for run in m["payload"]}
        # Runs of the last tick may follow the figures that already count them.
        while listed != ids:
            message = receive(ws)
            listed |= (
                {run["id"] for run in message["payload"]}
                if message["type"] == "runs_update"
                else set()
            )
        updates = [m for m in seen if m["type"] == "metrics_update"]
        # One per tick at most, not one per run; and so many computations.
        assert len(updates) < 500
        live = api.get("/api/info")["live"]
        assert (live["clients"], live["subscriptions"], live["listening"]) == (1, 1, True)
        assert len(updates) <= live["summaries_computed"] < 500


def test_an_ingest_on_one_process_reaches_the_clients_of_another(
    api_process: ApiProcessFactory,
) -> None:
    with api_process() as writer, api_process() as reader, open_socket(reader) as ws:
        assert receive(ws)["type"] == "metrics_update"
        run = writer.ingest(event_body(pipeline="deploy", started_at=recent(5)))
        update, changes = receive_run_and_total(ws, run["id"], total=1)
        assert [r["id"] for r in changes["payload"]] == [run["id"]]
        assert update["payload"]["per_pipeline"][0]["pipeline"] == "deploy"


def test_filters_decide_which_runs_a_client_hears_of(api_process: ApiProcessFactory) -> None:
    with api_process() as api, open_socket(api, "?pipeline=web&branch=main") as ws:
        assert receive(ws)["payload"]["total"] == 0
        api.ingest(event_body(pipeline="api", branch="main", started_at=recent(3)))
        api.ingest(event_body(pipeline="web", branch="dev", started_at=recent(2)))
        mine = api.ingest(event_body(pipeline="web", branch="main", started_at=recent(1)))
        update, changes = receive_run_and_total(ws, mine["id"], total=1)
        assert [r["id"] for r in changes["payload"]] == [mine["id"]]
        assert [p["pipeline"] for p in update["payload"]["per_pipeline"]] == ["web"]


def test_heartbeats_in_silence_and_a_refresh_while_windows_slide(
    api_process: ApiProcessFactory,
) -> None:
    with (
        api_process(PULSE_LIVE_HEARTBEAT_SEC="0.3", PULSE_LIVE_REFRESH_SEC="1.5") as api,
        open_socket(api) as ws,
    ):
        first = receive(ws)
        beat, _ = receive_until(ws, lambda m: m["type"] == "heartbeat")
        assert set(beat) == {"type", "as_of"}
        assert beat["as_of"] > first["as_of"]
        refresh, _ = receive_until(ws, lambda m: m["type"] == "metrics_update")
        assert refresh["as_of"] > first["as_of"]
        assert refresh["payload"]["total"] == 0


def test_a_client_that_never_reads_is_closed_1013_and_the_others_go_on(
    api_process: ApiProcessFactory, db_url: str
) -> None:
    # Two hundred pipelines make each summary ~100 kB, so a stuck reader fills its socket fast.
    ingest_directly(
        db_url, [event_body(pipeline=f"pipe-{i:03}", started_at=recent(9)) for i in range(200)]
    )
    with api_process(PULSE_LIVE_QUEUE="2") as api, open_socket(api) as healthy:
        # A small receive buffer, set before connecting, and a client that stops reading after
        # one message: the server's writes back up within a few messages.
        stuck_socket = socket.socket()
        stuck_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck_socket.connect(("127.0.0.1", int(api.url.rsplit(":", 1)[1])))
        with open_socket(api, sock=stuck_socket, max_queue=1) as stuck:
            assert receive(healthy)["payload"]["total"] == 200
            ingested = 0
            while "too slow" not in api.log:
                assert ingested < 300, "the stuck client was never closed"
                run_id = api.ingest(event_body(pipeline="pipe-000", started_at=recent(1)))["id"]
                receive_until(healthy, functools.partial(lists, run_id=run_id))
                ingested += 1
            code, reason = read_until_closed(stuck)
            assert code == 1013
            assert "slow" in reason
        # The healthy client is still served.
        api.ingest(event_body(pipeline="pipe-001", started_at=recent(1)))
        receive_until(
            healthy,
            lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 201 + ingested,
        )


def test_origins_outside_the_allowlist_are_refused_at_the_handshake(
    api_process: ApiProcessFactory,
) -> None:
    with api_process(PULSE_CORS_ORIGINS="http://wall.example:5173") as api:
        with pytest.raises(InvalidStatus) as refused:
            open_socket(api, origin="http://evil.example")
        assert refused.value.response.status_code == 403
        with open_socket(api, origin="http://wall.example:5173") as ws:
            assert receive(ws)["type"] == "metrics_update"
        with open_socket(api) as ws:  # no Origin: not a browser
            assert receive(ws)["type"] == "metrics_update"


@pytest.mark.parametrize("query", ["?minutes=abc", "?minutes=0", "?minutes=525601"])
def test_invalid_parameters_close_1008_naming_the_parameter(
    api_process: ApiProcessFactory, query: str
) -> None:
    with api_process() as api, open_socket(api, query) as ws:
        code, reason = read_until_closed(ws)
        assert code == 1008
        assert reason.startswith("minutes")


def test_server_shutdown_closes_clients_with_1001(api_process: ApiProcessFactory) -> None:
    with api_process() as api, open_socket(api) as ws:
        receive(ws)
        api.stop(signal.SIGTERM)
        assert read_until_closed(ws)[0] == 1001


def test_a_database_restart_under_a_client_converges_to_the_right_summary(
    api_process: ApiProcessFactory, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    url = server.start()
    try:
        upgrade(url)
        with api_process(database_url=url) as api, open_socket(api) as ws:
            api.ingest(event_body(pipeline="web", started_at=recent(3)))
            receive_until(
                ws, lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 1
            )
            server.stop()
            assert server.start() == url
            # Written behind the API's back, right after the restart: whether or not the
            # listener was back in time to hear it, the client must end up counting it.
            ingest_directly(url, [event_body(pipeline="api", started_at=recent(2))])
            update, _ = receive_until(
                ws,
                lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 2,
                timeout=90,
            )
            assert without_as_of(update["payload"]) == without_as_of(
                api.get("/api/metrics/summary")
            )
            # And ingest through the API works again.
            api.ingest(event_body(pipeline="web", started_at=recent(1)))
            receive_until(
                ws, lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 3
            )
    finally:
        server.stop()


def test_a_deleted_run_is_named_and_leaves_the_figures(api_process: ApiProcessFactory) -> None:
    with api_process() as api:
        kept = api.ingest(event_body(pipeline="web", started_at=recent(5), duration_sec=10))
        gone = api.ingest(event_body(pipeline="web", started_at=recent(4), duration_sec=20))
        with open_socket(api, "?minutes=60") as ws:
            assert receive(ws)["payload"]["total"] == 2
            response = httpx.delete(
                f"{api.url}/api/runs/{gone['id']}", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert response.status_code == 200
            deleted, _ = receive_until(ws, lambda m: m["type"] == "runs_deleted")
            assert deleted["payload"] == [gone["id"]]
            figures, _ = receive_until(
                ws, lambda m: m["type"] == "metrics_update" and m["payload"]["total"] == 1
            )
            assert figures["payload"]["avg_duration_sec"] == kept["duration_sec"]
            assert without_as_of(figures["payload"]) == without_as_of(
                api.get("/api/metrics/summary?minutes=60")
            )
