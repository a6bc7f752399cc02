"""Real headless Chromium (Debian's, driven by Playwright) for the dashboard's end-to-end tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.processes import ROOT

# Screenshots and measurements land here; CI keeps the folder as the run's artifacts.
ARTIFACTS = Path(os.environ.get("PULSE_E2E_ARTIFACTS", ROOT / "artifacts" / "e2e"))

CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError(
            "Chromium is needed for the dashboard tests: `apt-get install chromium` "
            "(make test does it when run as root), or set PULSE_CHROMIUM to its binary"
        )
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    # A fresh profile per session (launch_persistent_context is not needed: contexts are isolated).
    os.environ.setdefault("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("chromium-config")))
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
