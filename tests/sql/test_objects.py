"""The database after `upgrade head` holds exactly the objects the current SQL files define.

`sql/` keeps one file per object, `<name>_vNN.sql`; the highest version is the current one. A
stale file (an object redefined elsewhere, a version no migration applies, an object dropped but
still on disk) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ingest_api.sqlfiles import SQL_DIR

FILE_NAME = re.compile(r"(?P<name>[a-z_]+)_v(?P<version>\d\d)\.sql")
DEFINITION = re.compile(r"^create or replace (function|aggregate|view|trigger) (\w+)", re.M)
BODY = re.compile(r"\bas \$\$(.*?)\$\$;", re.S)


def current_files() -> dict[str, Path]:
    """Each object's current file: the highest version of its name, per folder."""
    current: dict[str, tuple[int, Path]] = {}
    for folder in ("functions", "triggers", "views"):
        for path in (SQL_DIR / folder).glob("*.sql"):
            match = FILE_NAME.fullmatch(path.name)
            assert match, f"{path.name}: files are named <object>_vNN.sql"
            version = int(match["version"])
            name = match["name"]
            if name not in current or current[name][0] < version:
                current[name] = (version, path)
    return {name: path for name, (_, path) in current.items()}


def definitions(path: Path) -> list[tuple[str, str]]:
    return [(kind, name) for kind, name in DEFINITION.findall(path.read_text())]


class TestSqlFiles:
    def test_one_object_per_file_named_after_it(self) -> None:
        for name, path in current_files().items():
            found = definitions(path)
            expected = [("trigger", name)] if path.parent.name == "triggers" else []
            kinds = {"functions": ("function", "aggregate"), "triggers": ("function",)}
            kinds["views"] = ("view",)
            objects = [d for d in found if d[0] in kinds[path.parent.name]]
            assert [n for _, n in objects] == [name], path.name
            assert [d for d in found if d not in objects] == expected, path.name

    def test_every_file_has_a_header_saying_what_it_does(self) -> None:
        for name, path in current_files().items():
            assert path.read_text().startswith(f"-- {name}"), path.name

    def test_the_map_names_every_object(self) -> None:
        readme = (SQL_DIR / "README.md").read_text()
        missing = [name for name in current_files() if f"`{name}`" not in readme]
        assert missing == []


class TestDatabaseObjects:
    def test_the_database_holds_exactly_the_current_files_objects(
        self, shared_engine: Engine
    ) -> None:
        files = current_files()
        with shared_engine.connect() as conn:
            routines: dict[str, str] = dict(
                conn.execute(
                    text(
                        "select proname, prosrc from pg_proc"
                        " join pg_namespace on pg_namespace.oid = pronamespace"
                        " where nspname = 'public'"
                    )
                ).all()
            )
            triggers = set(
                conn.execute(text("select tgname from pg_trigger where not tgisinternal")).scalars()
            )
            views = set(
                conn.execute(
                    text("select viewname from pg_views where schemaname = 'public'")
                ).scalars()
            )
        by_folder = {
            folder: {n for n, p in files.items() if p.parent.name == folder}
            for folder in ("functions", "triggers", "views")
        }
        assert set(routines) == by_folder["functions"] | by_folder["triggers"]
        assert triggers == by_folder["triggers"]
        assert views == by_folder["views"]

    def test_every_function_body_is_its_files_verbatim(self, shared_engine: Engine) -> None:
        with shared_engine.connect() as conn:
            stored: dict[str, str] = dict(
                conn.execute(
                    text(
                        "select proname, prosrc from pg_proc"
                        " join pg_namespace on pg_namespace.oid = pronamespace"
                        " where nspname = 'public' and prokind = 'f'"
                    )
                ).all()
            )
        compared = 0
        for name, path in current_files().items():
            if name not in stored:
                continue
            bodies = BODY.findall(path.read_text())
            assert len(bodies) == 1, path.name
            assert stored[name] == bodies[0], f"{name} in the database is not {path.name}"
            compared += 1
        assert compared == len(stored)

    @pytest.mark.parametrize("view", ["runs_staged", "daily_pipeline_history"])
    def test_views_are_granted_to_the_reader_role(self, shared_engine: Engine, view: str) -> None:
        with shared_engine.connect() as conn:
            granted = conn.execute(
                text("select has_table_privilege('pulse_reader', :view, 'select')"),
                {"view": view},
            ).scalar_one()
        assert granted is True
