"""Bulk history: `pulse import FILE`, runs in the shape of POST /api/events/run, many at once.

Each line is validated by the API's own schema (RunEvent) while the file streams, and the valid
ones stream on into a temporary table with COPY as they come, so reading, validating and loading
overlap (Python on one core, PostgreSQL on another). Then, in the same transaction, the
database's `import_runs` writes them into `runs` set-based with the row triggers skipped, under
the touched pipelines' locks (their ingest waits; every other pipeline's goes on), each touched
pipeline's rollups are rebuilt once (`rebuild_rollups`), and `import_runs_finish` does once what
the triggers do per row. Any refused line, by the schema or by the database, and nothing is
written: every refused line is reported with its number.

Measured (bench/bulk.py): validation with RunEvent is the floor of the Python side; see the
README's "Bulk history" for the figures.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any, NoReturn

import psycopg
from pydantic import ValidationError

from ingest_api.errors import SQLSTATE_CONFLICT, SQLSTATE_INVALID
from ingest_api.runs.schemas import RunEvent

# The staged lines, as import_runs and import_problems (sql/functions) read them. Dropped at
# commit or rollback; the fields are the event's, unresolved (the pipeline by name).
_STAGING = """
    create temporary table run_imports (
        line bigint not null,
        pipeline text not null,
        status text not null,
        started_at timestamptz,
        finished_at timestamptz,
        duration_sec double precision,
        branch text,
        commit text,
        triggered_by text,
        source text not null,
        external_id text,
        url text,
        attempt integer,
        conclusion text
    ) on commit drop
"""
_COLUMNS = (
    "line",
    "pipeline",
    "status",
    "started_at",
    "finished_at",
    "duration_sec",
    "branch",
    "commit",
    "triggered_by",
    "source",
    "external_id",
    "url",
    "attempt",
    "conclusion",
)
_COPY = f"copy run_imports ({', '.join(_COLUMNS)}) from stdin (format binary)"
# Binary COPY: measured five times faster than text here, where Python formats each value.
_COPY_TYPES = (
    "int8", "text", "text", "timestamptz", "timestamptz", "float8", "text", "text", "text",
    "text", "text", "text", "int4", "text",
)  # fmt: skip
# How many refused lines a report lists; the rest are counted.
MAX_LISTED = 20


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@dataclass(frozen=True)
class Problem:
    """A refused line: its 1-based number in the file, the field and why."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class Rejected(Exception):
    """The file holds lines the API would refuse; nothing was written."""

    problems: list[Problem]
    more: int = 0  # refused lines beyond those listed

    def __str__(self) -> str:
        return f"{len(self.problems) + self.more} refused lines"


@dataclass
class ImportResult:
    lines: int = 0
    inserted: int = 0  # new runs
    repeats: int = 0  # lines applied to a run already stored (an update, or a late repeat)
    pipelines: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def detect_format(name: str, head: bytes) -> FileFormat:
    """By the file's extension, else by its first character: `{` is JSON lines."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return FileFormat.csv
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return FileFormat.jsonl
    return FileFormat.jsonl if head.lstrip()[:1] == b"{" else FileFormat.csv


def _field_errors(exc: ValidationError, line: int) -> list[Problem]:
    """The API's 422 entries (field, message) for one line."""
    problems = []
    for err in exc.errors(include_url=False):
        if err["type"] == "json_invalid":
            where, message = "line", f"malformed JSON: {err.get('ctx', {}).get('error', '')}"
        elif err["type"] == "model_type":
            where, message = "line", "must be a JSON object"
        else:
            where = ".".join(str(part) for part in err["loc"]) or "line"
            message = err["msg"]
        problems.append(Problem(line, where, message))
    return problems


def _jsonl(lines: Iterable[bytes]) -> Iterator[tuple[int, RunEvent | list[Problem]]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, RunEvent.model_validate_json(raw)
        except ValidationError as exc:
            yield number, _field_errors(exc, number)


class _Counted:
    """Text lines, counting them (csv reads a quoted value across several) and noting those
    that are not UTF-8 (the API refuses such a body)."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.count = 0
        self.not_utf8: set[int] = set()
        self._lines = iter(lines)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        self.count += 1
        try:
            return raw.decode("utf-8-sig" if self.count == 1 else "utf-8")
        except UnicodeDecodeError:
            self.not_utf8.add(self.count)
            return raw.decode("utf-8", errors="replace")


def _csv(lines: Iterable[bytes]) -> Iterator[tuple[int, RunEvent | list[Problem]]]:
    text = _Counted(lines)
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    names = [name.strip() for name in header]
    width = len(names)
    while True:
        number = text.count + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, [Problem(number, "line", f"malformed CSV: {exc}")]
            continue
        if not any(cell.strip() for cell in row):
            continue
        if text.not_utf8 & set(range(number, text.count + 1)):
            yield number, [Problem(number, "line", "not UTF-8")]
            continue
        if len(row) > width:
            yield number, [Problem(number, "line", f"{len(row)} values for {width} columns")]
            continue
        # An empty cell is a field left out, as a key missing from a JSON body.
        body: dict[str, Any] = {name: cell for name, cell in zip(names, row, strict=False) if cell}
        try:
            yield number, RunEvent.model_validate(body)
        except ValidationError as exc:
            yield number, _field_errors(exc, number)


def read_events(
    stream: IO[bytes], file_format: FileFormat, on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[int, RunEvent | list[Problem]]]:
    """Each non-blank line (CSV: record) with its 1-based line number: the validated event, or
    what the API would answer about it."""

    def lines() -> Iterator[bytes]:
        for raw in stream:
            if on_bytes is not None:
                on_bytes(len(raw))
            yield raw

    yield from (_csv if file_format is FileFormat.csv else _jsonl)(lines())


def _row(number: int, event: RunEvent) -> tuple[Any, ...]:
    return (
        number,
        event.pipeline,
        event.status.value,
        event.started_at,
        event.finished_at,
        event.duration_sec,
        event.branch,
        event.commit,
        event.triggered_by,
        event.source,
        event.external_id,
        event.url,
        event.attempt,
        event.conclusion,
    )


def import_runs(
    conn: psycopg.Connection[Any],
    events: Iterable[tuple[int, RunEvent | list[Problem]]],
    *,
    on_rebuild: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Load the events in one transaction on `conn` (which must not be in one); raise Rejected,
    with nothing written, if any line is refused."""
    result = ImportResult()
    problems: list[Problem] = []
    refused = 0
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(_STAGING)
        with conn.cursor().copy(_COPY) as copy:
            copy.set_types(list(_COPY_TYPES))
            for number, outcome in events:
                result.lines += 1
                if isinstance(outcome, RunEvent):
                    if not refused:
                        copy.write_row(_row(number, outcome))
                    continue
                refused += 1
                if len(problems) < MAX_LISTED:
                    problems.extend(outcome[: MAX_LISTED - len(problems)])
        if refused:
            raise Rejected(problems, refused - len({p.line for p in problems}))
        result.seconds["read, validate, copy"] = time.perf_counter() - started

        started = time.perf_counter()
        try:
            with conn.transaction():
                written = conn.execute("select * from import_runs()").fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate not in {SQLSTATE_INVALID, SQLSTATE_CONFLICT}:
                raise
            _reject_with_problems(conn)
        assert written is not None
        pipeline_ids, result.inserted, result.repeats, last_alert_id = written
        pipeline_ids = pipeline_ids or []
        result.pipelines = len(pipeline_ids)
        result.seconds["write runs"] = time.perf_counter() - started

        started = time.perf_counter()
        for done, pipeline_id in enumerate(pipeline_ids, start=1):
            conn.execute("select rebuild_rollups(%s)", (pipeline_id,))
            if on_rebuild is not None:
                on_rebuild(done, len(pipeline_ids))
        result.seconds["rebuild rollups"] = time.perf_counter() - started

        started = time.perf_counter()
        conn.execute("select import_runs_finish(%s, %s)", (pipeline_ids, last_alert_id))
        result.seconds["history marks, alerts"] = time.perf_counter() - started
    return result


def _reject_with_problems(conn: psycopg.Connection[Any]) -> NoReturn:
    """Every line the database refuses, as Rejected; the caller's transaction rolls back."""
    rows = conn.execute("select line, field, message from import_problems()").fetchall()
    listed = [Problem(int(line), str(where), str(message)) for line, where, message in rows]
    raise Rejected(listed[:MAX_LISTED], max(0, len(listed) - MAX_LISTED))


def open_input(path: str) -> IO[bytes]:
    """The file, or stdin for `-`, as bytes."""
    if path == "-":
        return sys.stdin.buffer
    return open(path, "rb")


def peek(stream: IO[bytes]) -> bytes:
    """The stream's first bytes, left in place (stdin and files are buffered readers)."""
    if isinstance(stream, io.BufferedReader):
        return stream.peek(4096)[:4096]
    return b""
