"""Fixtures of the alert tests: a self-signed certificate authority for the SMTP servers."""

from __future__ import annotations

import pytest

from tests.alerts.support import Authority, make_authority


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("ca"))
