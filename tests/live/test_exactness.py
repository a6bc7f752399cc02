"""Issue 19, goal 3: every figure served is exact as of the `as_of` it carries.

Random sequences of ingests (runs whose start lies just inside a window's edge, so the edge
passes them while the test runs, and a little in the future, so they enter the window later),
corrections (a repeat of a `(source, external_id)`), deletes and pauses go to a real
`pulse api` over HTTP, while WebSocket clients of several windows and filters listen. Every
`metrics_update` they receive, and every GET /api/metrics/summary answer (of those windows and
of others nobody watches, whose summaries the API keeps as well), must equal a fresh
computation (tests/reference.py, itself checked against the SQL in tests/sql/test_summary.py)
over the runs stored as of its `as_of`.

Which runs are "stored as of T": the test is the only writer and notes the database clock before
each write and after its answer, with the runs table after it. A figure with `as_of` T must
count every write answered by T and none sent after T; a write in flight at T may be in or out.
Whatever a later design reuses between ticks, this is what it must keep.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from analytics.models import Summary
from tests import reference
from tests.api.support import TOKEN
from tests.live.support import ApiProcess, ApiProcessFactory, open_socket, receive

pytestmark = pytest.mark.e2e

PIPELINES = ("web", "api", "docs")
BRANCHES = ("main", "dev")
STATUSES = ("success", "failure", "running", "cancelled", "skipped")
TERMINAL = ("success", "failure", "cancelled", "skipped")
# (minutes, pipeline, branch): the clients' subscriptions; the REST checks read these too.
WATCHED = (
    (1, None, None),
    (60, None, None),
    (60, "web", None),
    (1440, None, "main"),
    (1440, "api", "dev"),
    (525600, None, None),
)
# Read through REST only: the API keeps these summaries too, with no client watching them.
UNWATCHED = (
    (5, None, None),
    (1440, "web", "main"),
)
READ = WATCHED + UNWATCHED
# Windows whose edge a run may start just inside of (the edge passes it within seconds).
EDGES = (1, 60, 1440)

Scope = tuple[int, str | None, str | None]


@dataclass(frozen=True)
class Moment:
    """The runs stored after a write, and the database clock around that write."""

    sent: datetime  # before the request left
    answered: datetime  # after its answer came back
    runs: tuple[reference.StoredRun, ...]


@dataclass
class Timeline:
    """What the runs table held when: moments in the order of the (sequential) writes."""

    moments: list[Moment] = field(default_factory=list)

    def candidates(self, as_of: datetime) -> list[tuple[reference.StoredRun, ...]]:
        """The states a figure as of `as_of` may describe: from after the last write answered
        by then, through those of writes that were in flight at that time."""
        answered = [m.answered for m in self.moments]
        sent = [m.sent for m in self.moments]
        first = max(bisect_right(answered, as_of) - 1, 0)
        last = max(bisect_right(sent, as_of) - 1, first)
        return [m.runs for m in self.moments[first : last + 1]]


def expected_summary(
    runs: tuple[reference.StoredRun, ...], as_of: datetime, scope: Scope
) -> dict[str, Any]:
    minutes, pipeline, branch = scope
    mine = [
        r
        for r in runs
        if (pipeline is None or r.pipeline == pipeline) and (branch is None or r.branch == branch)
    ]
    window = reference.in_window(mine, as_of, minutes)
    return {
        **reference.totals(window),
        "window_minutes": minutes,
        "as_of": as_of,
        "per_pipeline": [
            {
                **reference.totals([r for r in window if r.pipeline == name]),
                "pipeline": name,
                "health": reference.health([r for r in mine if r.pipeline == name], as_of, minutes),
            }
            for name in sorted({r.pipeline for r in window})
        ],
    }


class Listener:
    """A WebSocket client read by a thread of its own: every metrics_update it is sent."""

    def __init__(self, api: ApiProcess, scope: Scope) -> None:
        self.scope = scope
        self.updates: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._ws: ClientConnection | None = None
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(api,), daemon=True)
        self._thread.start()
        assert self._connected.wait(60), f"no connection for {scope}"

    def _read(self, api: ApiProcess) -> None:
        minutes, pipeline, branch = self.scope
        query = f"?minutes={minutes}&pipeline={pipeline or ''}&branch={branch or ''}"
        try:
            with open_socket(api, query) as ws:
                self._ws = ws
                self._connected.set()
                while True:
                    message = receive(ws, timeout=3600)
                    if message["type"] == "metrics_update":
                        assert message["as_of"] == message["payload"]["as_of"]
                        self.updates.append(message["payload"])
        except ConnectionClosed:
            pass
        except BaseException as exc:
            self.error = exc
        finally:
            self._connected.set()

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
        self._thread.join(30)


class Driver:
    """Sends the writes and reads, keeping the timeline and the REST answers to check."""

    def __init__(self, api: ApiProcess, db_url: str) -> None:
        self.api = api
        self.conn = psycopg.connect(db_url, autocommit=True)
        self.http = httpx.Client(base_url=api.url, timeout=60)
        self.timeline = Timeline()
        self.answers: list[tuple[Scope, dict[str, Any]]] = []
        self.keys: list[tuple[str, str]] = []  # (pipeline, external_id) of runs sent with one
        self.ids: list[int] = []
        self.serial = 0
        now = self.now()
        self.timeline.moments.append(Moment(now, now, self.stored()))

    def now(self) -> datetime:
        row = self.conn.execute("select clock_timestamp()").fetchone()
        assert row is not None
        assert isinstance(row[0], datetime)
        return row[0]

    def stored(self) -> tuple[reference.StoredRun, ...]:
        rows = self.conn.execute(
            "select runs.id, pipelines.name, runs.status::text, runs.started_at,"
            " runs.finished_at, runs.duration_sec, runs.branch"
            " from runs join pipelines on pipelines.id = runs.pipeline_id order by runs.id"
        ).fetchall()
        return tuple(reference.StoredRun(*row) for row in rows)

    def write(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        sent = self.now()
        response = self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200, (body, response.text)
        self.timeline.moments.append(Moment(sent, self.now(), self.stored()))
        return response.json()

    def run_body(self, draw: dict[str, Any], pipeline: str, external_id: str | None) -> Any:
        now = self.now()
        placement, edge, offset, duration = draw["when"]
        if placement == "edge":  # just inside the window: its edge passes in `offset` seconds
            started = now - timedelta(minutes=edge) + timedelta(seconds=offset)
        elif placement == "future":  # enters every window `offset` seconds from now
            started = now + timedelta(seconds=offset)
        else:
            started = now - timedelta(seconds=offset * 600)
        body: dict[str, Any] = {
            "pipeline": pipeline,
            "status": draw["status"],
            "started_at": started.isoformat(),
            "branch": draw["branch"],
            "commit": "5184f9c",
            "triggered_by": "octocat",
        }
        if draw["status"] != "running":
            # A finish at most a minute ahead, well inside the 5 minutes the contract allows.
            latest = (now + timedelta(minutes=1) - started).total_seconds()
            body["duration_sec"] = round(max(min(duration, latest), 0.001), 3)
        if external_id is not None:
            body |= {"external_id": external_id, "source": "exactness"}
        return body

    def apply(self, op: tuple[str, Any]) -> None:
        kind, draw = op
        if kind == "ingest":
            self.serial += 1
            external_id = f"x{self.serial}" if draw["keyed"] else None
            pipeline = draw["pipeline"]
            run = self.write("POST", "/api/events/run", self.run_body(draw, pipeline, external_id))
            self.ids.append(run["id"])
            if external_id is not None:
                self.keys.append((pipeline, external_id))
        elif kind == "correct" and self.keys:
            # A later result for a stored run (or, once that run was deleted, a new one).
            pipeline, external_id = self.keys[draw["pick"] % len(self.keys)]
            draw = {**draw, "status": draw["terminal"]}
            run = self.write("POST", "/api/events/run", self.run_body(draw, pipeline, external_id))
            if run["id"] not in self.ids:
                self.ids.append(run["id"])
        elif kind == "delete" and self.ids:
            self.write("DELETE", f"/api/runs/{self.ids.pop(draw % len(self.ids))}")
        elif kind == "pause":
            threading.Event().wait(draw)
        elif kind == "read":
            scope: Scope = READ[draw % len(READ)]
            minutes, pipeline, branch = scope
            params: dict[str, str | int] = {
                "minutes": minutes,
                "pipeline": pipeline or "",
                "branch": branch or "",
            }
            response = self.http.get("/api/metrics/summary", params=params)
            assert response.status_code == 200, response.text
            self.answers.append((scope, response.json()))

    def close(self) -> None:
        self.http.close()
        self.conn.close()


def differences(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two summaries differ, as `path: got != expected` lines."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return [
            line
            for key in sorted(got.keys() | expected.keys())
            for line in differences(got.get(key), expected.get(key), f"{path}.{key}")
        ]
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        return [
            line
            for i, (g, e) in enumerate(zip(got, expected, strict=True))
            for line in differences(g, e, f"{path}[{i}]")
        ]
    return [] if got == expected else [f"{path}: {got!r} != {expected!r}"]


def assert_exact(timeline: Timeline, scope: Scope, payload: dict[str, Any], where: str) -> None:
    got = Summary.model_validate(payload).model_dump()
    as_of = got["as_of"]
    states = timeline.candidates(as_of)
    expected = [expected_summary(runs, as_of, scope) for runs in states]
    if got not in expected:
        nearest = "\n".join(differences(got, expected[-1]))
        raise AssertionError(
            f"{where} {scope} as of {as_of.isoformat()} equals no fresh computation of the "
            f"{len(states)} states stored around then; against the latest:\n{nearest}"
        )


when = st.one_of(
    st.tuples(
        st.just("edge"),
        st.sampled_from(EDGES),
        st.floats(0.05, 3, allow_nan=False),
        st.floats(0.5, 900, allow_nan=False),
    ),
    st.tuples(
        st.just("future"),
        st.just(0),
        st.floats(0.05, 2, allow_nan=False),
        st.floats(0.5, 120, allow_nan=False),
    ),
    st.tuples(
        st.just("recent"),
        st.just(0),
        st.floats(0.001, 1, allow_nan=False),
        st.floats(0.5, 900, allow_nan=False),
    ),
)
run_draw = st.fixed_dictionaries(
    {
        "pipeline": st.sampled_from(PIPELINES),
        "branch": st.sampled_from(BRANCHES),
        "status": st.sampled_from(STATUSES),
        "when": when,
        "keyed": st.booleans(),
    }
)
correction = st.fixed_dictionaries(
    {
        "pick": st.integers(0, 1000),
        "terminal": st.sampled_from(TERMINAL),
        "branch": st.sampled_from(BRANCHES),
        "when": when,
    }
)


def operations(deletes: bool) -> st.SearchStrategy[list[tuple[str, Any]]]:
    kinds = [
        st.tuples(st.just("ingest"), run_draw),
        st.tuples(st.just("correct"), correction),
        st.tuples(st.just("pause"), st.sampled_from((0.0, 0.05, 0.2, 0.6))),
        st.tuples(st.just("read"), st.integers(0, len(READ) - 1)),
    ]
    if deletes:
        kinds.append(st.tuples(st.just("delete"), st.integers(0, 1000)))
    return st.lists(st.one_of(kinds), min_size=5, max_size=25)


@pytest.fixture
def listened(
    api_process: ApiProcessFactory, db_url: str
) -> Iterator[tuple[Driver, list[Listener]]]:
    # A short tick and a frequent refresh: windows slide past runs between writes too.
    with api_process(
        PULSE_LIVE_TICK_MS="50", PULSE_LIVE_REFRESH_SEC="0.3", PULSE_LIVE_QUEUE="10000"
    ) as api:
        driver = Driver(api, db_url)
        listeners = [Listener(api, scope) for scope in WATCHED]
        try:
            yield driver, listeners
        finally:
            for listener in listeners:
                listener.close()
            driver.close()


@pytest.mark.parametrize("deletes", [False, True], ids=["ingest-and-corrections", "with-deletes"])
def test_every_figure_is_exact_as_of_its_as_of(
    listened: tuple[Driver, list[Listener]], deletes: bool
) -> None:
    driver, listeners = listened

    # One API, one database and the same clients for every example: the history grows across
    # examples, as a real one does. No shrinking (a replay meets a different history).
    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(operations(deletes))
    def drive(ops: list[tuple[str, Any]]) -> None:
        for op in ops:
            driver.apply(op)

    drive()
    # The edges of the 1-minute window pass the latest runs; the last writes reach everyone.
    threading.Event().wait(1.5)
    for listener in listeners:
        listener.close()
        assert listener.error is None, listener.error

    checked = 0
    for listener in listeners:
        assert listener.updates, listener.scope
        for payload in listener.updates:
            assert_exact(driver.timeline, listener.scope, payload, "metrics_update")
            checked += 1
    for scope, payload in driver.answers:
        assert_exact(driver.timeline, scope, payload, "GET /api/metrics/summary")
    # The ingests moved the figures many times over, and the REST reads were checked too.
    assert checked > 50
    assert driver.answers
    assert len(driver.timeline.moments) > 15
