"""Settings: one class, read once from the environment (and `.env`)."""

from __future__ import annotations

import ipaddress
import secrets
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_FILE = "ingest-token"  # noqa: S105 (a file name, not a secret)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path(".pulse"), validation_alias="PULSE_DATA_DIR")
    api_host: str = Field(default="127.0.0.1", validation_alias="PULSE_API_HOST")
    api_port: int = Field(default=8000, validation_alias="PULSE_API_PORT")
    ui_port: int = Field(default=5173, validation_alias="PULSE_UI_PORT")
    streamlit_port: int = Field(default=8501, validation_alias="PULSE_STREAMLIT_PORT")
    ingest_token: str | None = Field(default=None, validation_alias="PULSE_INGEST_TOKEN")
    cors_origins_raw: Annotated[list[str] | None, NoDecode] = Field(
        default=None, validation_alias="PULSE_CORS_ORIGINS"
    )
    demo: bool = Field(default=False, validation_alias="PULSE_DEMO")
    public_url: str | None = Field(default=None, validation_alias="PULSE_PUBLIC_URL")
    environment: str = Field(default="local", validation_alias="PULSE_ENVIRONMENT")
    api_workers: int | None = Field(default=None, validation_alias="PULSE_API_WORKERS")
    # Live updates (/ws/metrics): the coalescing tick, how many messages a client may have
    # waiting before it is closed as too slow (1013), and the contract's heartbeat and refresh.
    live_tick_ms: int = Field(default=250, ge=10, le=10_000, validation_alias="PULSE_LIVE_TICK_MS")
    live_queue: int = Field(default=32, ge=1, le=10_000, validation_alias="PULSE_LIVE_QUEUE")
    live_heartbeat_sec: float = Field(
        default=15, gt=0, le=3600, validation_alias="PULSE_LIVE_HEARTBEAT_SEC"
    )
    live_refresh_sec: float = Field(
        default=60, gt=0, le=3600, validation_alias="PULSE_LIVE_REFRESH_SEC"
    )
    # How often `pulse worker` refreshes the daily history (sql/functions/refresh_history_v01.sql).
    history_refresh_sec: float = Field(
        default=60, gt=0, le=86_400, validation_alias="PULSE_HISTORY_REFRESH_SEC"
    )
    # Abuse limits (ingest_api/ratelimit.py, ingest_api/connections.py), per API process: writes
    # per token, writes without a token per client address (`<count>/<second|minute|hour>`, or
    # `off`); connections, and live ones, per client address.
    rate_limit_ingest: str = Field(default="100/second", validation_alias="PULSE_RATE_LIMIT_INGEST")
    rate_limit_public: str = Field(default="30/second", validation_alias="PULSE_RATE_LIMIT_PUBLIC")
    max_connections_per_address: int = Field(
        default=256, ge=1, le=1_000_000, validation_alias="PULSE_MAX_CONNECTIONS_PER_ADDRESS"
    )
    # How long a request's headers may take to arrive (a slow-loris client is cut off).
    headers_timeout_sec: float = Field(
        default=10, gt=0, le=600, validation_alias="PULSE_HEADERS_TIMEOUT_SEC"
    )
    ws_max_per_address: int = Field(
        default=100, ge=1, le=1_000_000, validation_alias="PULSE_WS_MAX_PER_ADDRESS"
    )
    # GitHub webhooks: the secrets deliveries are signed with (comma-separated, for rotation;
    # unset: the route answers 403) and how a workflow run names its pipeline.
    github_webhook_secret: str | None = Field(
        default=None, validation_alias="PULSE_GITHUB_WEBHOOK_SECRET", repr=False
    )
    github_pipeline: str = Field(
        default="{owner}/{repo}/{workflow}", validation_alias="PULSE_GITHUB_PIPELINE"
    )
    # The API's own log lines: text, or one JSON object per line for a log collector.
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="PULSE_LOG_FORMAT")
    # Set by `pulse up` / `pulse api` for their children when they run the embedded server.
    database_kind: str = Field(default="external", validation_alias="PULSE_DATABASE_KIND")
    # Alert mail (README "Alerts"), sent by `pulse worker`. The password is never shown or
    # logged; PULSE_SMTP_SECURITY comes after the credentials so its check can see them.
    smtp_host: str = Field(default="smtp.gmail.com", validation_alias="PULSE_SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65_535, validation_alias="PULSE_SMTP_PORT")
    smtp_user: str | None = Field(default=None, validation_alias="PULSE_SMTP_USER")
    smtp_password: str | None = Field(
        default=None, validation_alias="PULSE_SMTP_PASSWORD", repr=False
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", validation_alias="PULSE_SMTP_SECURITY"
    )
    smtp_ca_file: Path | None = Field(default=None, validation_alias="PULSE_SMTP_CA_FILE")
    # One attempt's whole conversation with the server, connection included.
    smtp_timeout_sec: float = Field(
        default=30, gt=0, le=600, validation_alias="PULSE_SMTP_TIMEOUT_SEC"
    )
    alert_from_raw: str | None = Field(default=None, validation_alias="PULSE_ALERT_FROM")
    alert_to_raw: Annotated[list[str] | None, NoDecode] = Field(
        default=None, validation_alias="PULSE_ALERT_TO"
    )
    alert_branches_raw: Annotated[list[str] | None, NoDecode] = Field(
        default=["main", "master"], validation_alias="PULSE_ALERT_BRANCHES"
    )
    alert_reminder_min: int = Field(
        default=30, ge=0, le=525_600, validation_alias="PULSE_ALERT_REMINDER_MIN"
    )
    alert_policy: Literal["transitions", "every"] = Field(
        default="transitions", validation_alias="PULSE_ALERT_POLICY"
    )
    alert_simulated: bool = Field(default=False, validation_alias="PULSE_ALERT_SIMULATED")
    # The dashboard's address as people open it, for the links in alert mail; default ui_url.
    dashboard_url_raw: str | None = Field(default=None, validation_alias="PULSE_DASHBOARD_URL")
    # Where browsers reach the Streamlit trends app (the dashboard's header links to it).
    trends_url_raw: str | None = Field(default=None, validation_alias="PULSE_TRENDS_URL")

    @field_validator("cors_origins_raw", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("rate_limit_ingest", "rate_limit_public")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip().lower() not in {"", "off", "0", "none"}:
            try:
                limits.parse(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a rate: write e.g. 100/second, 6000/minute or off"
                ) from None
        return value

    @field_validator("ingest_token")
    @classmethod
    def _refuse_placeholder(cls, value: str | None) -> str | None:
        # `.env.example` ships a placeholder; running with it would be an open door.
        if value is not None and value.strip() in {"", "changeme", "change-me"}:
            raise ValueError("PULSE_INGEST_TOKEN holds a placeholder; set a real secret")
        return value

    @field_validator("github_pipeline")
    @classmethod
    def _pipeline_template(cls, value: str) -> str:
        try:
            value.format(owner="o", repo="r", workflow="w", workflow_file="w.yml")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                "PULSE_GITHUB_PIPELINE may use {owner}, {repo}, {workflow} and {workflow_file}"
                f" only ({exc})"
            ) from None
        return value

    @field_validator("alert_to_raw", "alert_branches_raw", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("alert_to_raw")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        for address in value or []:
            if "@" not in parseaddr(address)[1]:
                raise ValueError(f"PULSE_ALERT_TO: {address!r} is not a mail address")
        return value

    @field_validator("smtp_security")
    @classmethod
    def _credentials_encrypted(cls, value: str, info: ValidationInfo) -> str:
        # A password in clear text is readable by anyone on the path; on loopback (a local
        # relay, a test server) there is no path.
        host = info.data.get("smtp_host", "")
        credentials = info.data.get("smtp_user") or info.data.get("smtp_password")
        if value == "none" and credentials and not _is_loopback(host):
            raise ValueError(
                f"PULSE_SMTP_SECURITY=none would send the SMTP credentials unencrypted to {host};"
                " use starttls or tls, or a relay on this machine"
            )
        return value

    @property
    def alert_to(self) -> list[str]:
        return self.alert_to_raw or []

    @property
    def alert_from(self) -> str | None:
        return self.alert_from_raw or self.smtp_user

    @property
    def alert_branches(self) -> list[str] | None:
        """The branches that alert; None: every branch (`*`)."""
        raw = self.alert_branches_raw or []
        return None if "*" in raw else raw

    @property
    def dashboard_url(self) -> str:
        return (self.dashboard_url_raw or self.ui_url).rstrip("/")

    @property
    def github_webhook_secrets(self) -> list[str]:
        raw = self.github_webhook_secret or ""
        return [secret.strip() for secret in raw.split(",") if secret.strip()]

    @property
    def cors_origins(self) -> list[str]:
        if self.cors_origins_raw is not None:
            return self.cors_origins_raw
        return [
            f"http://{host}:{port}"
            for port in (self.ui_port, self.streamlit_port)
            for host in ("localhost", "127.0.0.1")
        ]

    @property
    def _local_host(self) -> str:
        """Where a process on this machine reaches our servers (a wildcard bind: loopback)."""
        wildcard = self.api_host in {"0.0.0.0", "::", ""}  # noqa: S104
        return "127.0.0.1" if wildcard else self.api_host

    @property
    def local_api_url(self) -> str:
        return f"http://{self._local_host}:{self.api_port}"

    @property
    def ui_url(self) -> str:
        """The dashboard `pulse up` serves (on the API's host)."""
        return f"http://{self._local_host}:{self.ui_port}"

    @property
    def streamlit_url(self) -> str:
        """The Streamlit trends app `pulse up` serves (on the API's host)."""
        return f"http://{self._local_host}:{self.streamlit_port}"

    @property
    def trends_url(self) -> str:
        """Where browsers reach the trends app: PULSE_TRENDS_URL, else the local address."""
        return (self.trends_url_raw or self.streamlit_url).rstrip("/")

    @property
    def api_url(self) -> str:
        """Where clients reach the API: PULSE_PUBLIC_URL, else the local address."""
        return self.public_url.rstrip("/") if self.public_url else self.local_api_url

    @property
    def token_file(self) -> Path:
        return self.data_dir / TOKEN_FILE


@lru_cache
def get_settings() -> Settings:
    return Settings()


# What pydantic's error types mean for a value read from the environment, in plain words.
_PLAIN_ERRORS = {
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}
# Their values stay off the screen: a URL carries a password, the token is the secret itself.
_SECRET_VARIABLES = {"DATABASE_URL", "PULSE_INGEST_TOKEN"}


def settings_problems(error: ValidationError) -> list[str]:
    """Each problem of a `Settings` ValidationError as one sentence naming the environment
    variable, what is wrong and the value given (for people, unlike pydantic's own report)."""
    problems = []
    for problem in error.errors(include_url=False):
        variable = _variable(problem["loc"][0] if problem["loc"] else "")
        context = {key: _number(value) for key, value in problem.get("ctx", {}).items()}
        if problem["type"] == "value_error":
            # Our validators word their message for people already, naming the variable.
            reason = str(context.get("error", problem["msg"]))
            sentence = reason if reason.startswith(variable) else f"{variable}: {reason}"
        elif problem["type"] in _PLAIN_ERRORS:
            sentence = f"{variable} {_PLAIN_ERRORS[problem['type']].format(**context)}"
        else:
            sentence = f"{variable} is not valid: {problem['msg'][:1].lower()}{problem['msg'][1:]}"
        if variable not in _SECRET_VARIABLES:
            sentence += f" (got {problem['input']!r})"
        problems.append(sentence.rstrip(".") + ".")
    return problems


def _variable(loc: int | str) -> str:
    """The environment variable of an error's location (a field's alias; its name elsewhere)."""
    field = Settings.model_fields.get(str(loc))
    alias = field.validation_alias if field is not None else None
    return alias if isinstance(alias, str) else str(loc)


def _number(value: object) -> object:
    # `gt=0` arrives as 0.0 on a float field; people write 0.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token_file(path: Path) -> str | None:
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        return None
    return token or None


def write_new_token(path: Path) -> str:
    """Create (or replace) the stored ingest token, readable by its owner only."""
    token = secrets.token_urlsafe(32)
    # One in 64 would start with "-", which a command line takes for an option (`grep $TOKEN`).
    while token.startswith("-"):
        token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(token + "\n")
    tmp.replace(path)
    return token
