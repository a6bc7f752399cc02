"""Live-update tests: `pulse api` in real processes, real WebSocket clients."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest_api.processes import answers, free_port, serving
from tests.api.support import TOKEN
from tests.live.support import ApiProcess, ApiProcessFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api_process(db_url: str, tmp_path: Path) -> ApiProcessFactory:
    """Start `pulse api` (one worker unless PULSE_API_WORKERS says) on a free port against
    `database_url`."""

    @contextmanager
    def start(database_url: str = db_url, **settings: str) -> Iterator[ApiProcess]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
        env.update(
            {
                "DATABASE_URL": database_url,
                "PULSE_DATA_DIR": str(tmp_path / "data"),
                "PULSE_INGEST_TOKEN": TOKEN,
                "PULSE_API_WORKERS": "1",
                "PULSE_LIVE_TICK_MS": "50",
                **settings,
            }
        )
        url = f"http://127.0.0.1:{port}"
        log_path = tmp_path / f"api-{port}.log"
        with serving(
            [sys.executable, "-m", "ingest_api", "api", "--port", str(port)],
            ready=lambda: answers(f"{url}/health"),
            timeout=60,
            log=log_path,
            env=env,
            cwd=ROOT,
        ) as process:
            yield ApiProcess(url, process, log_path)

    return start
