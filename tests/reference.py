"""A plain-Python reading of the contract's figures, to check the SQL against."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DECIDED = {"success", "failure"}


@dataclass(frozen=True)
class StoredRun:
    id: int
    pipeline: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_sec: float | None
    branch: str


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def _round(value: float | None, digits: int) -> float | None:
    # As PostgreSQL's round(x::numeric, n): float8 -> numeric keeps 15 significant digits, and
    # numeric rounds half away from zero.
    if value is None:
        return None
    exact = Decimal(f"{value:.15g}")
    return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def totals(runs: Iterable[StoredRun]) -> dict[str, Any]:
    runs = list(runs)
    counts = {
        s: sum(r.status == s for r in runs)
        for s in ("success", "failure", "running", "cancelled", "skipped")
    }
    decided = [r for r in runs if r.status in DECIDED]
    durations = [r.duration_sec for r in decided if r.duration_sec is not None]
    last = max(decided, key=lambda r: (r.finished_at, r.id), default=None)
    return {
        "total": len(runs),
        **counts,
        "success_rate": _round(counts["success"] / len(decided), 4) if decided else None,
        "avg_duration_sec": _round(sum(durations) / len(durations), 3) if durations else None,
        "p50_duration_sec": _round(percentile_cont(durations, 0.5), 3),
        "p95_duration_sec": _round(percentile_cont(durations, 0.95), 3),
        "last_status": last.status if last else None,
        "last_finished_at": last.finished_at if last else None,
    }


def in_window(runs: Iterable[StoredRun], now: datetime, minutes: int) -> list[StoredRun]:
    start = now - timedelta(minutes=minutes)
    return [r for r in runs if start < r.started_at <= now]


def health(runs: Iterable[StoredRun], now: datetime, window_minutes: int | None) -> dict[str, Any]:
    decided = sorted((r for r in runs if r.status in DECIDED), key=lambda r: (r.finished_at, r.id))
    streak = 0
    for run in reversed(decided):
        if run.status != "failure":
            break
        streak += 1
    recoveries = []
    episode_start: datetime | None = None
    for run in decided:
        assert run.finished_at is not None
        if run.status == "failure" and episode_start is None:
            episode_start = run.finished_at
        elif run.status == "success" and episode_start is not None:
            inside = window_minutes is None or (
                now - timedelta(minutes=window_minutes) < run.finished_at <= now
            )
            if inside:
                recoveries.append((run.finished_at - episode_start).total_seconds())
            episode_start = None
    return {
        "state": "unknown"
        if not decided
        else ("passing" if decided[-1].status == "success" else "failing"),
        "failure_streak": streak,
        "failing_since": decided[-streak].finished_at if streak else None,
        "last_success_at": _latest(decided, "success"),
        "last_failure_at": _latest(decided, "failure"),
        "mean_time_to_green_sec": _round(sum(recoveries) / len(recoveries), 3)
        if recoveries
        else None,
    }


def _latest(decided: list[StoredRun], status: str) -> datetime | None:
    times = [r.finished_at for r in decided if r.status == status and r.finished_at is not None]
    return max(times, default=None)
