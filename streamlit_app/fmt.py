"""Numbers for people: rates as percentages, durations as "1m 05s"."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def duration(seconds: float | None) -> str:
    """`42.5` -> "42.5s", `65` -> "1m 05s", `7384` -> "2h 03m", `90000` -> "1d 01h"."""
    if _missing(seconds):
        return "—"
    assert seconds is not None
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def percent(rate: float | None) -> str:
    """`0.6667` -> "66.7%"."""
    return "—" if _missing(rate) else f"{rate * 100:.1f}%"  # type: ignore[operator]


def number(value: float | None, digits: int = 0) -> str:
    return "—" if _missing(value) else f"{value:,.{digits}f}"


def moment(value: datetime | None) -> str:
    """A UTC timestamp to the minute: "2026-12-01 14:05 UTC"."""
    if value is None or pd.isna(value):
        return "—"
    return f"{pd.Timestamp(value).tz_convert('UTC'):%Y-%m-%d %H:%M} UTC"


def span(seconds: float) -> str:
    """A round duration, for band edges: `60` -> "1m", `5400` -> "1.5h", `86400` -> "1d"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
