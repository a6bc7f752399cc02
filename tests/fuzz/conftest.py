"""The app the fuzz tests of a module run against: served by uvicorn on a real socket (as
`pulse api` serves it, so HTTP parsing, the middleware and the write pool are the real ones),
on a migrated database of its own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ingest_api.main import create_app
from tests.api.support import Api, make_settings
from tests.factories import event_body
from tests.github.test_webhooks import SECRET, deliver, workflow_job, workflow_run
from tests.support import live_server


@pytest.fixture(scope="module")
def fuzzed(fresh_database: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Demo mode on (the simulator answers) and a webhook secret set; one per module, so the
    examples read each other's writes as a real server's history would. Rate limits off: they
    have their own tests, and a fuzzer at full speed would otherwise mostly meet 429s."""
    assert callable(fresh_database)
    db_url = str(fresh_database())
    settings = make_settings(
        db_url,
        tmp_path_factory.mktemp("fuzz"),
        PULSE_GITHUB_WEBHOOK_SECRET=SECRET,
        PULSE_RATE_LIMIT_INGEST="off",
        PULSE_RATE_LIMIT_PUBLIC="off",
    )
    with (
        live_server(create_app(settings)) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        api = Api(url=url, db_url=db_url, client=client)
        _seed(api)
        yield api


def _seed(api: Api) -> None:
    """A history for the reads to answer with: their response schemas are checked against
    real objects, not only empty lists."""
    assert api.client.post("/api/simulate?count=20&hours=48").status_code == 200
    assert api.ingest(event_body(status="running", external_id="fuzz-1")).status_code == 200
    for event, payload in (
        ("workflow_run", workflow_run()),
        ("workflow_job", workflow_job(stage="completed")),
        ("ping", {"zen": "Design for failure.", "hook_id": 1}),
    ):
        assert deliver(api, event, payload).status_code == 200
