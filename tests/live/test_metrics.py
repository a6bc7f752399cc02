"""GET /metrics across API worker processes: one figure, whichever process answers."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from tests.factories import event_body
from tests.live.support import ApiProcess, ApiProcessFactory
from tests.support import wait_for

WORKERS = 2


def sample(api: ApiProcess, name: str, **labels: str) -> float:
    text = httpx.get(f"{api.url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


def test_figures_add_up_across_workers(api_process: ApiProcessFactory) -> None:
    with api_process(PULSE_API_WORKERS=str(WORKERS)) as api:
        # Fresh connections, so the kernel spreads them over the workers.
        for i in range(20):
            api.ingest(event_body(pipeline=f"p{i % 4}"))
        counted = [
            sample(
                api,
                "pulse_http_request_duration_seconds_count",
                method="POST",
                route="/api/events/run",
                status="200",
            )
            for _ in range(10)
        ]
        # Every scrape, whichever worker took it, counts all 20.
        assert counted == [20.0] * 10
        with (
            connect(api.ws_url, open_timeout=30) as first,
            connect(api.ws_url + "?minutes=60", open_timeout=30) as second,
        ):
            first.recv(30)
            second.recv(30)
            assert wait_for(lambda: sample(api, "pulse_live_clients") == 2, timeout=30)
        assert wait_for(lambda: sample(api, "pulse_live_clients") == 0, timeout=30)
