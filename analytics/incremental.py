"""A window summary kept up to date by recomputing only what changed (the live hub's figures).

`LiveSummary` holds, for one subscription (window and filters), each pipeline's line as of the
last time it was computed: its counts, decided duration, window histogram (or durations),
latest decided run and health, and that line already serialized. `advance(session, changed,
as_of)` brings it to `as_of`: it recomputes the pipelines whose runs changed (`changed`, from
the hub's NOTIFY) and those whose runs a window edge passed since the last time
(summary_edge_pipelines, read once per tick for every subscription: edge_crossings), with
run_summary's own expressions (run_summary_lines), then merges the overall figures from the
lines. Health (pipeline_health) is recomputed only where it can have changed: pipelines whose
runs changed, and those whose recoveries a window edge passed (time to green is the one
windowed part of it); a line recomputed because the window passed a run keeps its health.

The result equals `summary(..., as_of=as_of)` exactly, field for field: sums for counts, the
same numeric rounding for rates and averages, percentiles from the lines' durations merged
with percentile_cont's float arithmetic (when the window holds at most
EXACT_PERCENTILES_UP_TO runs) or from the merged histograms with duration_bin_value_ms's, and
the latest decided run by (finished_at, id).

The work per advance follows the changes, not the history or the number of pipelines: an
index range scan per window edge over the time since the last advance (shared by the
subscriptions of a tick), and the changed pipelines' lines (index range scans per pipeline).
Whenever that is not enough - the first time, changes unknown (`changed` None), or the window
crossing the exact-percentile threshold (every line's percentiles change regime) - it
recomputes every pipeline, as run_summary does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import EXACT_PERCENTILES_UP_TO, Health, PipelineSummary, Totals
from analytics.summary import health

_LINES = text(
    "select * from run_summary_lines(:minutes, :pipeline, :branch,"
    " cast(:pipeline_ids as integer[]), cast(:as_of as timestamptz), :exact_up_to,"
    " cast(:rest_total as bigint))"
)
_EDGES = text(
    "select * from summary_edge_pipelines("
    "cast(:after as timestamptz[]), cast(:upto as timestamptz[]))"
)
_PLAN_CACHE_MODE = text("select current_setting('plan_cache_mode')")
_SET_PLAN_CACHE_MODE = text("select set_config('plan_cache_mode', :mode, true)")

_COUNTS = ("total", "success", "failure", "running", "cancelled", "skipped")
_TOTALS_FIELDS = tuple(Totals.model_fields)
_DATETIME_JSON = TypeAdapter(datetime)
_P50, _P95 = Decimal("0.5"), Decimal("0.95")


@dataclass
class _Line:
    """One pipeline's figures in the window as of the summary's `as_of`."""

    name: str
    counts: dict[str, int]
    decided_duration_ms: int
    last: tuple[datetime, int, str] | None  # (finished_at, id, status) of its latest decided run
    hist: dict[int, int]  # bin -> count, when percentiles come from histograms
    durations: list[float]  # its decided runs' durations in order, when percentiles are exact
    summary: PipelineSummary  # with its health
    json: str  # summary, serialized


@dataclass
class Figures:
    """A summary as one JSON object (the payload of a metrics_update) and the time it describes."""

    as_of: datetime
    payload_json: str
    recomputed: int  # pipelines recomputed to get here (all of them on a full computation)


Span = tuple[datetime, datetime]  # (after, upto]: started_at or recovered_at in it


@dataclass(frozen=True)
class Crossing:
    """A pipeline (and branch) with a run, or a recovery, in a span a window edge passed."""

    pipeline_id: int
    pipeline: str
    branch: str | None
    is_recovery: bool
    per_branch: bool | None


def edge_crossings(
    session: Session, summaries: Iterable[LiveSummary], as_of: datetime
) -> dict[Span, list[Crossing]]:
    """What the window edges of `summaries` passed on their way to `as_of`, by span: one
    statement for them all, each distinct span read once (subscriptions of one window share
    theirs)."""
    spans = sorted({span for summary in summaries for span in summary.spans(as_of)})
    found: dict[Span, list[Crossing]] = {span: [] for span in spans}
    if not spans:
        return found
    rows = session.execute(
        _EDGES, {"after": [a for a, _ in spans], "upto": [u for _, u in spans]}
    ).mappings()
    for row in rows:
        found[spans[row["span_no"] - 1]].append(
            Crossing(
                row["pipeline_id"],
                row["pipeline"],
                row["branch"],
                row["is_recovery"],
                row["per_branch"],
            )
        )
    return found


@dataclass
class LiveSummary:
    """One subscription's summary, advanced tick by tick (see the module's docstring)."""

    minutes: int
    pipeline: str | None
    branch: str | None
    exact_up_to: int = EXACT_PERCENTILES_UP_TO
    as_of: datetime | None = None
    figures: Figures | None = None
    _lines: dict[int, _Line] = field(default_factory=dict)
    _hist: Counter[int] = field(default_factory=Counter)  # the lines' histograms, merged
    # The lines' counts and decided_duration_ms, summed (kept as lines come and go, so a
    # publish does not add up every pipeline again).
    _sums: Counter[str] = field(default_factory=Counter)
    _exact: bool = True

    def spans(self, as_of: datetime) -> list[Span]:
        """The spans the window's edges pass from the last advance to `as_of`: the start of
        the window leaves (as_of - W) behind, its end takes in up to as_of."""
        if self.as_of is None or self.figures is None or as_of <= self.as_of:
            return []
        width = timedelta(minutes=self.minutes)
        return [(self.as_of - width, as_of - width), (self.as_of, as_of)]

    def advance(
        self,
        session: Session,
        changed: Collection[int] | None,
        as_of: datetime,
        crossings: Mapping[Span, list[Crossing]] | None = None,
    ) -> Figures:
        """The figures as of `as_of`, given the pipelines whose runs changed since the last
        advance (None: unknown, recompute every pipeline). `session` must read one snapshot
        taken at `as_of` (the hub's repeatable-read tick). `crossings`, from edge_crossings
        for this summary among others, saves reading them here."""
        if changed is None or self.as_of is None or self.figures is None:
            return self._full(session, as_of)
        if as_of < self.as_of:
            raise ValueError("a summary only moves forward in time")
        if crossings is None:
            crossings = edge_crossings(session, [self], as_of)
        lines = set(changed)
        # Health is all time but for time to green, which is windowed by recovered_at: a run
        # the window passed changes its pipeline's line, not its health.
        healths = set(changed)
        for span in self.spans(as_of):
            for crossing in crossings[span]:
                if not self._selects(crossing):
                    continue
                if crossing.is_recovery:
                    healths.add(crossing.pipeline_id)
                else:
                    lines.add(crossing.pipeline_id)
        # A line that joins the window has no health kept yet.
        healths.update(lines - self._lines.keys())
        healths &= lines | self._lines.keys()
        if not lines and not healths:
            # Nothing in the window moved: the same figures describe the later time.
            return self._publish(as_of, 0)
        rest_total = self._sums["total"] - sum(
            self._lines[pid].counts["total"] for pid in lines if pid in self._lines
        )
        total_row = self._recompute(session, lines, healths, as_of, rest_total)
        if total_row is not None and bool(total_row["is_exact"]) != self._exact:
            # The window crossed the exact-percentile threshold: every line's percentiles change.
            return self._full(session, as_of)
        return self._publish(as_of, len(lines | healths))

    def _selects(self, crossing: Crossing) -> bool:
        """Whether this summary's filters take in what `crossing` names."""
        if self.pipeline is not None and crossing.pipeline != self.pipeline:
            return False
        if crossing.is_recovery:
            # Recoveries are kept per pipeline and, separately, per (pipeline, branch).
            return crossing.per_branch == (self.branch is not None) and (
                self.branch is None or crossing.branch == self.branch
            )
        return self.branch is None or crossing.branch == self.branch

    def _scope(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "pipeline": self.pipeline, "branch": self.branch}

    def _full(self, session: Session, as_of: datetime) -> Figures:
        self._lines.clear()
        self._hist.clear()
        self._sums.clear()
        # Every pipeline's line: a plan for the values at hand. The hub's generic plans suit
        # a few pipelines probed by index, not every pipeline at once (at 10M runs a first
        # ask took 0.3-0.8 s on them, before run_summary_lines v02).
        mode = session.execute(_PLAN_CACHE_MODE).scalar_one()
        session.execute(_SET_PLAN_CACHE_MODE, {"mode": "force_custom_plan"})
        try:
            total_row = self._recompute(session, None, None, as_of, 0)
        finally:
            session.execute(_SET_PLAN_CACHE_MODE, {"mode": mode})
        assert total_row is not None
        self._exact = bool(total_row["is_exact"])
        return self._publish(as_of, len(self._lines))

    def _recompute(
        self,
        session: Session,
        ids: set[int] | None,
        health_ids: set[int] | None,
        as_of: datetime,
        rest_total: int,
    ) -> dict[str, Any] | None:
        """Replaces the lines of `ids` (every pipeline when None) by their figures as of
        `as_of`, and the health of `health_ids` (with every line recomputed when None); the
        lines function's total row (None when no line was recomputed)."""
        total_row: dict[str, Any] | None = None
        rows: list[dict[str, Any]] = []
        if ids is None or ids:
            params = {
                **self._scope(),
                "pipeline_ids": None if ids is None else sorted(ids),
                "as_of": as_of,
                "exact_up_to": self.exact_up_to,
                "rest_total": rest_total,
            }
            found = [dict(row) for row in session.execute(_LINES, params).mappings()]
            total_row = next(row for row in found if row["is_total"])
            rows = [row for row in found if not row["is_total"]]
        wanted = [row["pipeline_id"] for row in rows] if health_ids is None else sorted(health_ids)
        healths = (
            health(
                session,
                window_minutes=self.minutes,
                pipeline=self.pipeline,
                branch=self.branch,
                as_of=as_of,
                pipeline_ids=wanted,
            )
            if wanted
            else {}
        )
        kept = {pid: line.summary.health for pid, line in self._lines.items() if pid in (ids or ())}
        for pid in ids or ():
            self._drop(pid)
        for row in rows:
            fresh = healths.get(row["pipeline"])
            self._add(row, kept[row["pipeline_id"]] if fresh is None else fresh)
        if health_ids:
            for line in self._lines.values():
                fresh = healths.get(line.name)
                if fresh is not None and fresh != line.summary.health:
                    line.summary = line.summary.model_copy(update={"health": fresh})
                    line.json = line.summary.model_dump_json()
        return total_row

    def _drop(self, pid: int) -> None:
        line = self._lines.pop(pid, None)
        if line is None:
            return
        self._sums.subtract(line.counts)
        self._sums["decided_duration_ms"] -= line.decided_duration_ms
        if line.hist:
            self._hist.subtract(line.hist)

    def _add(self, row: dict[str, Any], pipeline_health: Health) -> None:
        hist = dict(zip(row["hist_bins"] or (), row["hist_counts"] or (), strict=True))
        last = (
            None
            if row["last_status"] is None
            else (row["last_finished_at"], row["last_id"], str(row["last_status"]))
        )
        summary = PipelineSummary.model_validate({**row, "health": pipeline_health})
        self._lines[row["pipeline_id"]] = _Line(
            name=row["pipeline"],
            counts={name: row[name] for name in _COUNTS},
            decided_duration_ms=row["decided_duration_ms"],
            last=last,
            hist=hist,
            durations=row["durations"] or [],
            summary=summary,
            json=summary.model_dump_json(),
        )
        self._hist.update(hist)
        self._sums.update(self._lines[row["pipeline_id"]].counts)
        self._sums["decided_duration_ms"] += row["decided_duration_ms"]

    def _publish(self, as_of: datetime, recomputed: int) -> Figures:
        self.as_of = as_of
        totals = self._totals()
        lines = sorted(self._lines.values(), key=lambda line: line.name)
        head = Totals.model_validate(totals).model_dump_json()
        # Summary's shape (analytics.models.Summary: the totals, then window_minutes, as_of and
        # per_pipeline), with each pipeline's object as serialized when it was computed: a tick
        # that changed one pipeline of 200 serializes one.
        payload = (
            f'{head[:-1]},"window_minutes":{self.minutes},'
            f'"as_of":{_DATETIME_JSON.dump_json(as_of).decode()},'
            f'"per_pipeline":[{",".join(line.json for line in lines)}]}}'
        )
        self.figures = Figures(as_of=as_of, payload_json=payload, recomputed=recomputed)
        return self.figures

    def _totals(self) -> dict[str, Any]:
        counts = {name: self._sums[name] for name in _COUNTS}
        decided_ms = self._sums["decided_duration_ms"]
        lasts = [line.last for line in self._lines.values() if line.last is not None]
        last = max(lasts, key=lambda found: found[:2]) if lasts else None
        decided = counts["success"] + counts["failure"]
        if self._exact:
            durations = sorted(d for line in self._lines.values() for d in line.durations)
            p50 = _round(_percentile_cont(durations, 0.5), 3)
            p95 = _round(_percentile_cont(durations, 0.95), 3)
        else:
            bins = sorted((b, n) for b, n in self._hist.items() if n)
            p50 = _round(_hist_percentile(bins, decided, _P50), 3)
            p95 = _round(_hist_percentile(bins, decided, _P95), 3)
        totals: dict[str, Any] = {
            **counts,
            "success_rate": _ratio(counts["success"], decided, 4),
            "avg_duration_sec": _ratio(decided_ms, decided * 1000, 3),
            "p50_duration_sec": p50,
            "p95_duration_sec": p95,
            "last_status": None if last is None else last[2],
            "last_finished_at": None if last is None else last[0],
        }
        assert set(totals) == set(_TOTALS_FIELDS)
        return totals


def _ratio(numerator: int, denominator: int, digits: int) -> float | None:
    """round(numerator::numeric / denominator, digits)::float8, as run_summary computes rates
    and averages: half away from zero (both are never negative here)."""
    if denominator == 0:
        return None
    scale = 10**digits
    rounded = (2 * numerator * scale + denominator) // (2 * denominator)
    return float(Decimal(rounded).scaleb(-digits))


def _round(value: float | None, digits: int) -> float | None:
    """round(value::numeric, digits)::float8: float8 -> numeric keeps 15 significant digits,
    numeric rounds half away from zero."""
    if value is None:
        return None
    exact = Decimal(f"{value:.15g}")
    return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _percentile_cont(ordered: list[float], fraction: float) -> float | None:
    """percentile_cont(fraction) within group (order by x) over float8 values: the rows at
    floor and ceil of fraction * (n - 1), interpolated as PostgreSQL's float8_lerp does."""
    if not ordered:
        return None
    pos = fraction * (len(ordered) - 1)
    first, second = math.floor(pos), math.ceil(pos)
    low = ordered[first]
    if first == second:
        return low
    return low + (pos - first) * (ordered[second] - low)


def _bin_value_ms(b: int) -> float:
    """duration_bin_value_ms(b): the same float8 operations (pow is the C library's in both)."""
    if b <= 0:
        return 0.0
    return 2 * math.pow(1.04, b - 1) / 2.04


def _hist_percentile(bins: Iterable[tuple[int, int]], n: int, fraction: Decimal) -> float | None:
    """run_summary's percentile from a histogram: pos = fraction * (n - 1) in numeric, the
    bins holding ranks floor(pos) and ceil(pos), interpolated in float8."""
    if n <= 0:
        return None
    pos = fraction * (n - 1)
    low_rank, high_rank = math.floor(pos), math.ceil(pos)
    low = high = None
    rank_to = 0
    for b, count in bins:
        rank_to += count
        if low is None and rank_to > low_rank:
            low = b
        if rank_to > high_rank:
            high = b
            break
    if low is None or high is None:
        return None
    low_ms, high_ms = _bin_value_ms(low), _bin_value_ms(high)
    return (low_ms + float(pos - low_rank) * (high_ms - low_ms)) / 1000
