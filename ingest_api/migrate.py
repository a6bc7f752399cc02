"""Run Alembic programmatically, so `pulse migrate` works from any directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class PreBaselineDatabase(RuntimeError):
    """The database is at a development revision from before the baseline migration."""

    def __init__(self, revision: str) -> None:
        super().__init__(
            f"this database was made by a development version of Pipeline Pulse (migration "
            f"{revision}, from before the baseline 0007) and cannot be upgraded. Start afresh: "
            "stop `pulse up` and remove the data dir's `postgres` folder (embedded server), or "
            "drop and recreate the database DATABASE_URL names; then run `pulse migrate`."
        )
        self.revision = revision


class NewerDatabase(RuntimeError):
    """The database was migrated by a later version than this one."""

    def __init__(self, revision: str, head: str) -> None:
        super().__init__(
            f"this database was migrated by a newer version of Pipeline Pulse (migration "
            f"{revision}; this version knows migrations up to {head}). Run that version or a "
            "later one against it, or point this one at another database."
        )
        self.revision = revision


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser reads % as interpolation; URL-encoded passwords carry it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
