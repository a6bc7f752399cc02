"""Reads never fail on a stored row.

Check constraints keep new runs within range, but a row an earlier version stored, or one
written by hand, may hold a time Python cannot represent (before year 1, after 9999,
±infinity). psycopg would fail the whole query on it; these loaders read such a value as null
instead, and the read functions then skip or show what they can, with a log line.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg.types.datetime import (
    DateBinaryLoader,
    DateLoader,
    TimestamptzBinaryLoader,
    TimestamptzLoader,
)

log = logging.getLogger("pulse.read")


def _lenient(base: type[Any]) -> type[Any]:
    class Lenient(base):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            try:
                return super().load(data)
            except psycopg.DataError as exc:
                log.warning("read a stored %s as null: %s", base.__name__, exc)
                return None

    Lenient.__name__ = f"Lenient{base.__name__}"
    return Lenient


_LOADERS = {
    "timestamptz": (_lenient(TimestamptzLoader), _lenient(TimestamptzBinaryLoader)),
    "date": (_lenient(DateLoader), _lenient(DateBinaryLoader)),
}


def register(connection: psycopg.Connection[Any]) -> None:
    """Read out-of-range times and dates on `connection` as null (None)."""
    for type_name, (text_loader, binary_loader) in _LOADERS.items():
        connection.adapters.register_loader(type_name, text_loader)
        connection.adapters.register_loader(type_name, binary_loader)
