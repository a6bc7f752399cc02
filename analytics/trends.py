"""Trends over a date range for the Streamlit pages, as DataFrames.

Every function takes a `Scope`: UTC days `start`..`end` (both included) of `started_at`, and
optional pipelines and branches (empty means all). Figures that add up across days (counts,
recoveries, time to green, re-run recoveries) are read from the daily history that `pulse worker`
keeps, so they are as fresh as its last refresh. Percentiles and first-try rates do not add up
across days or pipelines: a day of one pipeline reads them from the history (exact); anything
larger, up to `EXACT_PERCENTILES_UP_TO` decided runs (as the API's summary), from the runs
(exact `percentile_cont`), and beyond that from the days' duration histograms and first-try
counts in the history (percentiles within 1.96 % + 0.5 ms; the rate exact), so a year of 10M
runs reads at most a row per day and pipeline. Lists of runs and per-run figures read `runs`
itself, by its indexes where they narrow the read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from analytics.models import EXACT_PERCENTILES_UP_TO

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
STATUSES = ("success", "failure", "running", "cancelled", "skipped")


@dataclass(frozen=True)
class Scope:
    """The runs a page looks at: started on UTC days start..end, of these pipelines and
    branches (empty: all)."""

    start: date
    end: date
    pipelines: tuple[str, ...] = field(default=())
    branches: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the range ends before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self) -> dict[str, Any]:
        return {
            "start_day": self.start,
            "end_day": self.end,
            # Half-open in time: the whole of the last day, whatever the clock says.
            "start_at": _midnight(self.start),
            "end_at": _midnight(self.end + timedelta(days=1)),
            "pipelines": list(self.pipelines),
            "branches": list(self.branches),
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


_PIPELINE_IDS = text("select id from pipelines where name = any(:pipelines)")


def _bind(session: Session, scope: Scope) -> dict[str, Any]:
    """The scope's parameters, with its pipelines' ids."""
    ids = session.execute(_PIPELINE_IDS, scope.params()).scalars().all() if scope.pipelines else []
    return {**scope.params(), "by_pipeline": bool(scope.pipelines), "pipeline_ids": list(ids)}


# On `runs` itself, not runs_staged: the view joins every run to its pipeline's name, which
# over a year of 1M runs cost as much as the rest of the query. Pipelines by id (`_bind`), so
# the planner sees which and probes ix_runs_pipeline_id_started_at for a few; with
# plan_cache_mode force_custom_plan an empty filter folds away.
_RUNS_IN_SCOPE = """
    runs.started_at >= :start_at and runs.started_at < :end_at
    and (not :by_pipeline or runs.pipeline_id = any(:pipeline_ids))
    and (cardinality(cast(:branches as text[])) = 0 or runs.branch = any(:branches))
"""
# A run of the runs explorer's range, branches and filters (its pipelines are picked apart: a
# second condition on pipeline_id would halve the planner's estimate of a pipeline's runs).
_RUNS_MATCH = """
    runs.started_at >= :start_at and runs.started_at < :end_at
    and (cardinality(cast(:branches as text[])) = 0 or runs.branch = any(:branches))
    and (cardinality(cast(:statuses as text[])) = 0 or runs.status::text = any(:statuses))
    and (cast(:triggered_by as text) is null or runs.triggered_by = :triggered_by)
    and (cast(:commit as text) is null or runs.commit like :commit || '%')
"""
_DAYS_IN_SCOPE = """
    days.day between :start_day and :end_day
    and (not :by_pipeline or days.pipeline_id = any(:pipeline_ids))
"""
# The daily history rows of the scope: every pipeline together reads history_days (a row a
# day), chosen pipelines (or per_pipeline) their days, chosen branches their branch days.
_HISTORY_ROWS = """
    select 0 as pipeline_id, days.day, days.duration_hist, days.time_to_green_hist,
        days.failures_by_quarter, days.decided_by_trigger, days.first_try_decided,
        days.first_try_success
    from history_days as days
    where days.day between :start_day and :end_day
        and not (:per_pipeline or :by_pipeline) and cardinality(cast(:branches as text[])) = 0
    union all
    select days.pipeline_id, days.day, days.duration_hist, days.time_to_green_hist,
        days.failures_by_quarter, days.decided_by_trigger, days.first_try_decided,
        days.first_try_success
    from history_pipeline_days as days
    where {days_in_scope}
        and (:per_pipeline or :by_pipeline) and cardinality(cast(:branches as text[])) = 0
    union all
    select days.pipeline_id, days.day, days.duration_hist, days.time_to_green_hist,
        days.failures_by_quarter, days.decided_by_trigger, days.first_try_decided,
        days.first_try_success
    from history_branch_days as days
    where {days_in_scope} and days.branch = any(:branches)
"""
_PIPELINES_IN_SCOPE = """
    select pipelines.id as pipeline_id, pipelines.name as pipeline
    from pipelines
    where cardinality(cast(:pipelines as text[])) = 0 or pipelines.name = any(:pipelines)
"""

_RECOVERIES_IN_SCOPE = """
    recoveries.per_branch = (cardinality(cast(:branches as text[])) > 0)
    and recoveries.recovered_at >= :start_at and recoveries.recovered_at < :end_at
    and (not :by_pipeline or recoveries.pipeline_id = any(:pipeline_ids))
    and (cardinality(cast(:branches as text[])) = 0 or recoveries.branch = any(:branches))
"""

# p50/p95 per (line, period) from `period_bins` (line, period, bin, runs): the merged duration
# histograms (sql/functions/duration_bin_v01.sql), interpolated as percentile_cont does.
_PERCENTILES_OF_BINS = """
-- percentile_cont's 0-based ranks: between floor(pos) and ceil(pos), pos = p * (n - 1).
targets as (
    select
        line,
        period,
        0.5 * (sum(runs) - 1) as p50_pos,
        0.95 * (sum(runs) - 1) as p95_pos
    from period_bins
    group by line, period
),

-- The bin holding rank r is the first whose running count exceeds r.
picked as (
    select
        cumulative.line,
        cumulative.period,
        min(cumulative.bin) filter (where cumulative.rank_to > floor(targets.p50_pos)) as p50_lo,
        min(cumulative.bin) filter (where cumulative.rank_to > ceil(targets.p50_pos)) as p50_hi,
        min(cumulative.bin) filter (where cumulative.rank_to > floor(targets.p95_pos)) as p95_lo,
        min(cumulative.bin) filter (where cumulative.rank_to > ceil(targets.p95_pos)) as p95_hi
    from (
        select
            line,
            period,
            bin,
            sum(runs) over (partition by line, period order by bin) as rank_to
        from period_bins
    ) as cumulative
    join targets on targets.line = cumulative.line and targets.period = cumulative.period
    group by cumulative.line, cumulative.period
),

durations as (
    select
        picked.line,
        picked.period,
        round(((duration_bin_value_ms(picked.p50_lo)
            + (targets.p50_pos - floor(targets.p50_pos))
            * (duration_bin_value_ms(picked.p50_hi) - duration_bin_value_ms(picked.p50_lo)))
            / 1000)::numeric, 3)::float8 as p50_duration_sec,
        round(((duration_bin_value_ms(picked.p95_lo)
            + (targets.p95_pos - floor(targets.p95_pos))
            * (duration_bin_value_ms(picked.p95_hi) - duration_bin_value_ms(picked.p95_lo)))
            / 1000)::numeric, 3)::float8 as p95_duration_sec
    from picked
    join targets on targets.line = picked.line and targets.period = picked.period
)
"""

# A failure count per key, most first (failures_by).
_FAILURES_RANKED = """
final as (
    select
        key,
        sum(failures)::bigint as failures,
        sum(decided)::bigint as decided,
        round(sum(failures)::numeric / sum(decided), 4)::float8 as failure_rate
    from scoped
    group by key
)

select * from final where failures > 0 order by failures desc, key limit :limit
"""

# A webhook run's external id is "<run id>-<attempt>", which is how its jobs name it.
_JOBS_IN_SCOPE = """
    select
        runs_staged.pipeline,
        github_jobs.name as job,
        github_jobs.runner_labels,
        github_jobs.steps,
        extract(epoch from github_jobs.started_at - github_jobs.created_at)::float8 as queue_sec,
        extract(epoch from github_jobs.completed_at - github_jobs.started_at)::float8 as run_sec
    from github_jobs
    join runs_staged
        on runs_staged.source = 'github'
        and runs_staged.external_id = github_jobs.run_id || '-' || github_jobs.run_attempt
    where runs_staged.started_at >= :start_at and runs_staged.started_at < :end_at
        and (cardinality(cast(:pipelines as text[])) = 0 or runs_staged.pipeline = any(:pipelines))
        and (cardinality(cast(:branches as text[])) = 0 or runs_staged.branch = any(:branches))
"""


def _query(template: str) -> TextClause:
    """A statement from a template whose placeholders are the fixed scope conditions above;
    values are always bound parameters."""
    return text(
        template.format(
            runs_in_scope=_RUNS_IN_SCOPE,
            days_in_scope=_DAYS_IN_SCOPE,
            history_rows=_HISTORY_ROWS.format(days_in_scope=_DAYS_IN_SCOPE),
            pipelines_in_scope=_PIPELINES_IN_SCOPE,
            jobs_in_scope=_JOBS_IN_SCOPE,
            recoveries_in_scope=_RECOVERIES_IN_SCOPE,
            failures_ranked=_FAILURES_RANKED,
            percentiles_of_bins=_PERCENTILES_OF_BINS.strip(),
            runs_match=_RUNS_MATCH,
        )
    )


def _frame(session: Session, query: TextClause, params: dict[str, Any]) -> pd.DataFrame:
    result = session.execute(query, params)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


# Additive daily figures per period (and pipeline); the branch history when branches are chosen.
_DAILY = """
with days as (
    select
        case when :per_pipeline then days.pipeline_id else 0 end as line,
        date_trunc(:grain, days.day::timestamp)::date as period,
        days.total, days.success, days.failure, days.running, days.cancelled, days.skipped,
        days.avg_duration_sec * (days.success + days.failure) as decided_duration_sec,
        days.recoveries,
        days.mean_time_to_green_sec * days.recoveries as time_to_green_sec,
        days.rerun_recoveries
    from {table} as days
    where {scope}
),

periods as (
    select
        line,
        period,
        sum(total)::bigint as total,
        sum(success)::bigint as success,
        sum(failure)::bigint as failure,
        sum(running)::bigint as running,
        sum(cancelled)::bigint as cancelled,
        sum(skipped)::bigint as skipped,
        sum(decided_duration_sec) / nullif(sum(success + failure), 0) as avg_duration_sec,
        sum(decided_duration_sec) as decided_duration_sec,
        sum(recoveries)::bigint as recoveries,
        sum(time_to_green_sec) / nullif(sum(recoveries), 0) as mean_time_to_green_sec,
        sum(rerun_recoveries)::bigint as rerun_recoveries
    from days
    group by line, period
),

final as (
    select coalesce(pipelines.name, '') as pipeline, periods.*
    from periods
    left join pipelines on pipelines.id = periods.line
)

select * from final
"""
_PIPELINE_DAILY = _query(_DAILY.format(table="history_pipeline_days", scope="{days_in_scope}"))
_BRANCH_DAILY = _query(
    _DAILY.format(
        table="history_branch_days", scope="{days_in_scope} and days.branch = any(:branches)"
    )
)

# p50/p95 of decided runs and the first-try success rate per period (the range as one with
# `whole`) and, with per_pipeline, per pipeline: exact, one sort of the scope's runs.
_SPREAD_FROM_RUNS = _query(
    """
with scoped as (
    select
        case when :per_pipeline then runs.pipeline_id else 0 end as line,
        case when :whole then cast(:start_day as date)
            else date_trunc(:grain, runs.started_at at time zone 'UTC')::date end as period,
        runs.duration_sec,
        runs.status,
        runs.attempt
    from runs
    where runs.status in ('success', 'failure') and {runs_in_scope}
),

spread as (
    select
        line,
        period,
        percentile_cont(array[0.5, 0.95]) within group (order by duration_sec) as durations,
        count(*) filter (where attempt = 1) as first_try,
        count(*) filter (where attempt = 1 and status = 'success') as first_try_success
    from scoped
    group by line, period
),

final as (
    select
        coalesce(pipelines.name, '') as pipeline,
        spread.period,
        round(spread.durations[1]::numeric, 3)::float8 as p50_duration_sec,
        round(spread.durations[2]::numeric, 3)::float8 as p95_duration_sec,
        round(spread.first_try_success::numeric / nullif(spread.first_try, 0), 4)::float8
            as first_try_success_rate
    from spread
    left join pipelines on pipelines.id = spread.line
)

select * from final
"""
)

# p50/p95 from the running totals' duration histograms (sql/functions/run_summary_v01.sql):
# a period's histogram is its closing edge's totals minus its opening edge's, so the work is
# two index probes per pipeline (or branch) and period, however many days the period has. Edges
# are midnights, so hour rows fall wholly inside or outside. Within 1.96 % + 0.5 ms of
# percentile_cont (duration_bin; durations are binned in whole milliseconds).
_SPREAD_FROM_HISTOGRAMS = _query(
    """
with lines as ({pipelines_in_scope}),

edges as (
    select edge.at, edge.n::integer as n
    from unnest(cast(:edges as timestamptz[])) with ordinality as edge (at, n)
),

-- Each pipeline's running totals at each edge (with a branch filter, each chosen branch's):
-- the latest row at or before it, whose histogram holds every decided run started before.
upto as (
    select lines.pipeline_id, edges.n, totals.duration_hist
    from lines
    cross join edges
    cross join lateral (
        select pipeline_hour_totals.duration_hist
        from pipeline_hour_totals
        where pipeline_hour_totals.pipeline_id = lines.pipeline_id
            and pipeline_hour_totals.hour_start <= edges.at
        order by pipeline_hour_totals.hour_start desc
        limit 1
    ) as totals
    where cardinality(cast(:branches as text[])) = 0
    union all
    select lines.pipeline_id, edges.n, totals.duration_hist
    from lines
    cross join unnest(cast(:branches as text[])) as chosen (branch)
    cross join edges
    cross join lateral (
        select branch_hour_totals.duration_hist
        from branch_hour_totals
        where branch_hour_totals.pipeline_id = lines.pipeline_id
            and branch_hour_totals.branch = chosen.branch
            and branch_hour_totals.hour_start <= edges.at
        order by branch_hour_totals.hour_start desc
        limit 1
    ) as totals
),

edge_bins as (
    select
        case when :per_pipeline then upto.pipeline_id else 0 end as line,
        upto.n,
        (array_lower(upto.duration_hist, 1) + bins.i - 1)::integer as bin,
        sum(bins.runs) as runs
    from upto
    cross join lateral unnest(upto.duration_hist) with ordinality as bins (runs, i)
    where bins.runs <> 0
    group by 1, 2, 3
),

-- An edge's bins count + for the period it closes and - for the one it opens.
period_bins as (
    select
        edge_bins.line,
        signed.period_n as period,
        edge_bins.bin,
        sum(signed.sign * edge_bins.runs) as runs
    from edge_bins
    cross join lateral (values (edge_bins.n - 1, 1), (edge_bins.n, -1)) as signed (period_n, sign)
    where signed.period_n between 1 and cardinality(cast(:edges as timestamptz[])) - 1
    group by 1, 2, 3
    having sum(signed.sign * edge_bins.runs) <> 0
),

{percentiles_of_bins},

final as (
    select
        coalesce(lines.pipeline, '') as pipeline,
        durations.period as period_n,
        durations.p50_duration_sec,
        durations.p95_duration_sec
    from durations
    left join lines on lines.pipeline_id = durations.line
)

select * from final
"""
)

# The same figures from the daily history: each day's duration histogram (the running totals'
# bins, sql/functions/duration_bin_v01.sql) and first-try counts, merged per period. All
# pipelines together read history_days (one row a day), else the pipeline or branch days. Within
# 1.96 % + 0.5 ms of percentile_cont (durations are binned in whole milliseconds); as fresh as
# the counts beside them.
_SPREAD_FROM_DAY_HISTOGRAMS = _query(
    """
with days as ({history_rows}),

periods as (
    select
        case when :per_pipeline then pipeline_id else 0 end as line,
        case when :whole then cast(:start_day as date)
            else date_trunc(:grain, day::timestamp)::date end as period,
        duration_hist,
        first_try_decided,
        first_try_success
    from days
),

first_try as (
    select
        line,
        period,
        round(sum(first_try_success) / nullif(sum(first_try_decided), 0), 4)::float8
            as first_try_success_rate
    from periods
    group by line, period
),

period_bins as (
    select
        periods.line,
        periods.period,
        (array_lower(periods.duration_hist, 1) + bins.i - 1)::integer as bin,
        sum(bins.runs) as runs
    from periods
    cross join lateral unnest(periods.duration_hist) with ordinality as bins (runs, i)
    where bins.runs <> 0 and :with_durations
    group by 1, 2, 3
),

{percentiles_of_bins},

final as (
    select
        coalesce(pipelines.name, '') as pipeline,
        first_try.period,
        first_try.first_try_success_rate,
        durations.p50_duration_sec,
        durations.p95_duration_sec
    from first_try
    left join durations on durations.line = first_try.line and durations.period = first_try.period
    left join pipelines on pipelines.id = first_try.line
)

select * from final
"""
)

# A day of one pipeline (or of one of its branches) has its exact figures in the history.
_SPREAD_FROM_DAYS = """
with final as (
    select
        case when :per_pipeline then pipeline else '' end as pipeline,
        day as period,
        first_try_success_rate,
        p50_duration_sec,
        p95_duration_sec
    from {view}
    where day between :start_day and :end_day
        and (cardinality(cast(:pipelines as text[])) = 0 or pipeline = any(:pipelines))
        {branch_filter}
)

select * from final
"""
_PIPELINE_SPREAD_FROM_DAYS = text(
    _SPREAD_FROM_DAYS.format(view="daily_pipeline_history", branch_filter="")
)
_BRANCH_SPREAD_FROM_DAYS = text(
    _SPREAD_FROM_DAYS.format(
        view="daily_branch_history", branch_filter="and branch = any(:branches)"
    )
)

SPREAD_COLUMNS = ["first_try_success_rate", "p50_duration_sec", "p95_duration_sec"]

TREND_COLUMNS = [
    "pipeline",
    "period",
    "total",
    "success",
    "failure",
    "running",
    "cancelled",
    "skipped",
    "success_rate",
    "first_try_success_rate",
    "avg_duration_sec",
    "p50_duration_sec",
    "p95_duration_sec",
    "decided_duration_sec",
    "runs_per_day",
    "recoveries",
    "mean_time_to_green_sec",
    "rerun_recoveries",
]
COUNT_COLUMNS = [c for c in TREND_COLUMNS if c not in SPREAD_COLUMNS]
_COUNTS = [*STATUSES, "total", "recoveries", "rerun_recoveries"]


def _period_starts(scope: Scope, grain: Grain) -> list[date]:
    """The first day of each period the range touches (a week starts on Monday, as in SQL)."""
    if grain == "day":
        return [scope.start + timedelta(days=n) for n in range(scope.days)]
    if grain == "week":
        first = scope.start - timedelta(days=scope.start.weekday())
        return [first + timedelta(weeks=n) for n in range((scope.end - first).days // 7 + 1)]
    starts, month = [], scope.start.replace(day=1)
    while month <= scope.end:
        starts.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return starts


def _days_in_range(period: date, grain: Grain, scope: Scope) -> int:
    """How many of a period's days lie in the range (the first and last may be cut short)."""
    following = {
        "day": period + timedelta(days=1),
        "week": period + timedelta(weeks=1),
        "month": (period + timedelta(days=32)).replace(day=1),
    }[grain]
    return (min(following, scope.end + timedelta(days=1)) - max(period, scope.start)).days


def period_counts(
    session: Session, scope: Scope, *, grain: Grain = "day", per_pipeline: bool = False
) -> pd.DataFrame:
    """The figures of `period_trends` that add up across days (all but percentiles and the
    first-try rate), from the daily history alone."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    params = {**_bind(session, scope), "grain": grain, "per_pipeline": per_pipeline}
    daily = _frame(session, _BRANCH_DAILY if scope.branches else _PIPELINE_DAILY, params)
    names = sorted(set(daily["pipeline"])) if per_pipeline else [""]
    grid = pd.DataFrame(
        [(name, period) for name in names for period in _period_starts(scope, grain)],
        columns=["pipeline", "period"],
    )
    frame = grid.merge(daily.drop(columns="line"), on=["pipeline", "period"], how="left")
    frame[_COUNTS] = frame[_COUNTS].fillna(0).astype("int64")
    decided = frame["success"] + frame["failure"]
    frame["success_rate"] = (frame["success"] / decided.where(decided > 0)).round(4)
    frame["runs_per_day"] = frame["total"] / [
        _days_in_range(period, grain, scope) for period in frame["period"]
    ]
    frame["period"] = pd.to_datetime(frame["period"])
    floats = [c for c in COUNT_COLUMNS if c not in {"pipeline", "period", *_COUNTS}]
    frame[floats] = frame[floats].astype("float64")
    return frame[COUNT_COLUMNS].reset_index(drop=True)


def period_trends(
    session: Session, scope: Scope, *, grain: Grain = "day", per_pipeline: bool = False
) -> pd.DataFrame:
    """One row per period of the range (every period, runs or not) and, with `per_pipeline`,
    per pipeline that ran in it (else `pipeline` is ""): counts per status, success rate and
    first-try success rate (attempt-1 runs; null where no run records its attempt), average /
    p50 / p95 duration of decided runs (p50/p95 as the module docstring says), runs per day,
    recoveries with their mean time to green, and re-run recoveries."""
    counts = period_counts(session, scope, grain=grain, per_pipeline=per_pipeline)
    decided = int((counts["success"] + counts["failure"]).sum())
    if grain == "day" and (per_pipeline or len(scope.pipelines) == 1) and len(scope.branches) < 2:
        params = {**_bind(session, scope), "per_pipeline": per_pipeline}
        query = _BRANCH_SPREAD_FROM_DAYS if scope.branches else _PIPELINE_SPREAD_FROM_DAYS
        spread = _frame(session, query, params)
    else:
        spread = _spread(session, scope, grain, per_pipeline=per_pipeline, decided=decided)
    frame = counts.merge(
        spread.assign(period=pd.to_datetime(spread["period"])),
        on=["pipeline", "period"],
        how="left",
    )
    frame[SPREAD_COLUMNS] = frame[SPREAD_COLUMNS].astype("float64")
    return frame[TREND_COLUMNS].reset_index(drop=True)


def _spread(
    session: Session, scope: Scope, grain: Grain | None, *, per_pipeline: bool, decided: int
) -> pd.DataFrame:
    """p50/p95 of decided runs and first-try success rate per period of `grain` (None: the
    whole range) and, with per_pipeline, per pipeline; `decided`, how many decided runs the
    scope holds, picks the way to read them."""
    params = {
        **_bind(session, scope),
        "grain": grain or "day",
        "whole": grain is None,
        "per_pipeline": per_pipeline,
        "with_durations": True,
    }
    if decided <= EXACT_PERCENTILES_UP_TO:
        return _frame(session, _SPREAD_FROM_RUNS, params)
    together = not (per_pipeline or scope.pipelines or scope.branches)
    if together or grain == "day":
        # A row a day (history_days together), or a row per line and day either way.
        return _frame(session, _SPREAD_FROM_DAY_HISTOGRAMS, params)
    # Per pipeline (or branch) over weeks, months or the whole range: two edges per line and
    # period instead of a row per line and day (a year of 200 pipelines: 400 edges, not 73,200
    # days), and the first-try counts from the days.
    starts = _period_starts(scope, grain) if grain else [scope.start]
    edges = [max(start, scope.start) for start in starts] + [scope.end + timedelta(days=1)]
    durations = _frame(
        session,
        _SPREAD_FROM_HISTOGRAMS,
        {**params, "edges": [_midnight(edge) for edge in edges]},
    )
    durations["period"] = [starts[n - 1] for n in durations["period_n"]]
    first_try = _frame(session, _SPREAD_FROM_DAY_HISTOGRAMS, {**params, "with_durations": False})
    frame = first_try[["pipeline", "period", "first_try_success_rate"]].merge(
        durations[["pipeline", "period", "p50_duration_sec", "p95_duration_sec"]],
        on=["pipeline", "period"],
        how="outer",
    )
    return frame[["pipeline", "period", *SPREAD_COLUMNS]]


def range_totals(session: Session, scope: Scope) -> dict[str, float | None]:
    """The whole range as one period: total, success rate, first-try success rate, p50, p95,
    runs per day (for the week-over-week comparison)."""
    params = {**_bind(session, scope), "grain": "day", "per_pipeline": False}
    daily = _frame(session, _BRANCH_DAILY if scope.branches else _PIPELINE_DAILY, params)
    total, success, failure = (int(daily[c].sum()) for c in ("total", "success", "failure"))
    spread = _spread(session, scope, None, per_pipeline=False, decided=success + failure)
    row = spread.iloc[0] if len(spread) else pd.Series(index=SPREAD_COLUMNS, dtype="float64")
    return {
        "total": float(total),
        "success_rate": round(success / (success + failure), 4) if success + failure else None,
        **{c: None if pd.isna(row[c]) else float(row[c]) for c in SPREAD_COLUMNS},
        "runs_per_day": total / scope.days,
    }


_OPTIONS = text(
    """
with pairs as (
    select pipeline_id, branch, sum(total)::bigint as runs
    from history_branch_days
    where day between :start_day and :end_day
    group by pipeline_id, branch
),

final as (
    select pipelines.name as pipeline, pairs.branch, pairs.runs
    from pairs
    join pipelines on pipelines.id = pairs.pipeline_id
)

select * from final order by pipeline, runs desc, branch
"""
)
_PIPELINE_NAMES = text("select name from pipelines order by name")
_STATE = text(
    """
select
    exists (select 1 from runs) as has_runs,
    exists (select 1 from history_pipeline_days) as has_history,
    (select max(as_of) from health_snapshot) as history_as_of
"""
)


def filter_options(session: Session, scope: Scope) -> pd.DataFrame:
    """Every (pipeline, branch) with runs in the range and how many, busiest branch first; a
    pipeline without runs there has one row with branch and runs null."""
    pairs = _frame(session, _OPTIONS, _bind(session, scope))
    busy = set(pairs["pipeline"])
    names = session.execute(_PIPELINE_NAMES).scalars().all()
    idle = pd.DataFrame(
        {"pipeline": [n for n in names if n not in busy]},
        columns=["pipeline", "branch", "runs"],
    )
    return pd.concat([pairs, idle], ignore_index=True) if len(idle) else pairs


@dataclass(frozen=True)
class DataState:
    has_runs: bool
    has_history: bool
    history_as_of: datetime | None


def data_state(session: Session) -> DataState:
    """Whether any run is stored, and whether the daily history has been computed (by
    `pulse worker` or `pulse refresh`) and when."""
    row = session.execute(_STATE).one()
    return DataState(row.has_runs, row.has_history, row.history_as_of)


_RECOVERIES = _query(
    """
with episodes as (
    select
        pipelines.name as pipeline,
        recoveries.branch,
        recoveries.recovered_at,
        (recoveries.time_to_green_us / 1e6)::float8 as time_to_green_sec,
        runs.url
    from recoveries
    join pipelines on pipelines.id = recoveries.pipeline_id
    join runs on runs.id = recoveries.run_id
    where {recoveries_in_scope}
)

select * from episodes order by recovered_at desc
"""
)


def recovery_episodes(session: Session, scope: Scope) -> pd.DataFrame:
    """Each failure episode that ended in the range, newest first: when green came back
    (`recovered_at`), how long red lasted and the run that ended it. Episodes of the whole
    pipeline; with branches chosen, those of each branch itself."""
    frame = _frame(session, _RECOVERIES, _bind(session, scope))
    return frame.astype({"time_to_green_sec": "float64"})


# The bands of the time-to-green distribution, in seconds: a band holds lower <= t < upper.
TIME_TO_GREEN_BANDS = (0, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)

_TIME_TO_GREEN = _query(
    """
with episodes as (
    select recoveries.time_to_green_us / 1e6::float8 as time_to_green_sec
    from recoveries
    where {recoveries_in_scope}
),

bands as (
    select
        width_bucket(time_to_green_sec, cast(:bands as float8[])) as band,
        count(*) as recoveries,
        null::float8 as mean_sec,
        null::float8 as median_sec
    from episodes
    group by 1
),

overall as (
    select
        null::integer as band,
        count(*) as recoveries,
        avg(time_to_green_sec) as mean_sec,
        percentile_cont(0.5) within group (order by time_to_green_sec) as median_sec
    from episodes
),

final as (
    select * from bands
    union all
    select * from overall
)

select * from final
"""
)


# The same from the daily history beyond EXACT_PERCENTILES_UP_TO episodes: each day's recoveries
# binned by time to green (4 % bins), merged; a bin counts in the band its value falls in, so an
# episode within 4 % of a band's edge may count in the next band, and the median is within
# 1.96 % + 0.5 ms. The mean is the days' (exact to the ms).
_TIME_TO_GREEN_FROM_DAYS = _query(
    """
with hists as (
    select days.time_to_green_hist as hist from ({history_rows}) as days
),

-- The count and mean from the pipeline (or branch) days.
lines as (
    select days.recoveries, days.mean_time_to_green_sec
    from history_pipeline_days as days
    where {days_in_scope} and cardinality(cast(:branches as text[])) = 0
    union all
    select days.recoveries, days.mean_time_to_green_sec
    from history_branch_days as days
    where {days_in_scope} and days.branch = any(:branches)
),

bins as (
    select (array_lower(hists.hist, 1) + counts.i - 1)::integer as bin, sum(counts.n) as n
    from hists
    cross join lateral unnest(hists.hist) with ordinality as counts (n, i)
    where counts.n <> 0
    group by 1
),

ranked as (
    select bin, sum(n) over (order by bin) as rank_to, 0.5 * (sum(n) over () - 1) as pos
    from bins
),

median as (
    select
        min(bin) filter (where rank_to > floor(pos)) as lo,
        min(bin) filter (where rank_to > ceil(pos)) as hi,
        max(pos) as pos
    from ranked
),

bands as (
    select
        width_bucket(duration_bin_value_ms(bin) / 1000, cast(:bands as float8[])) as band,
        sum(n)::bigint as recoveries,
        null::float8 as mean_sec,
        null::float8 as median_sec
    from bins
    group by 1
),

overall as (
    select
        null::integer as band,
        (select sum(n) from bins)::bigint as recoveries,
        (select sum(mean_time_to_green_sec * recoveries) / nullif(sum(recoveries), 0)
            from lines) as mean_sec,
        (duration_bin_value_ms(median.lo)
            + (median.pos - floor(median.pos))
            * (duration_bin_value_ms(median.hi) - duration_bin_value_ms(median.lo)))
            / 1000 as median_sec
    from median
),

final as (
    select * from bands
    union all
    select * from overall
)

select * from final
"""
)
_RECOVERY_COUNT = _query(
    """
select coalesce(sum(days.recoveries), 0)
from history_pipeline_days as days
where {days_in_scope} and cardinality(cast(:branches as text[])) = 0
union all
select coalesce(sum(days.recoveries), 0)
from history_branch_days as days
where {days_in_scope} and days.branch = any(:branches)
"""
)


@dataclass(frozen=True)
class TimeToGreen:
    """Failure episodes that ended in a range: how many, how long red lasted on average and at
    the median, and how many fell in each band of TIME_TO_GREEN_BANDS."""

    recoveries: int
    mean_sec: float | None
    median_sec: float | None
    bands: pd.DataFrame  # lower_sec, upper_sec (None: open), recoveries


def time_to_green(session: Session, scope: Scope) -> TimeToGreen:
    """The episodes of `recovery_episodes`, summed up in SQL: exact up to
    EXACT_PERCENTILES_UP_TO episodes (as the daily history counts them), else from the daily
    history's time-to-green histograms (a year can hold millions)."""
    params = {**_bind(session, scope), "bands": list(TIME_TO_GREEN_BANDS), "per_pipeline": False}
    episodes = sum(session.execute(_RECOVERY_COUNT, params).scalars())
    query = _TIME_TO_GREEN if episodes <= EXACT_PERCENTILES_UP_TO else _TIME_TO_GREEN_FROM_DAYS
    result = session.execute(query, params)
    rows = result.all()
    overall = next((r for r in rows if r.band is None), None)
    counts = {r.band: r.recoveries for r in rows if r.band is not None}
    uppers: list[float | None] = [*TIME_TO_GREEN_BANDS[1:], None]
    bands = pd.DataFrame(
        {
            "lower_sec": TIME_TO_GREEN_BANDS,
            "upper_sec": uppers,
            "recoveries": [int(counts.get(n, 0)) for n in range(1, len(uppers) + 1)],
        }
    )
    if overall is None or not overall.recoveries:
        return TimeToGreen(0, None, None, bands)
    return TimeToGreen(
        int(overall.recoveries), float(overall.mean_sec), float(overall.median_sec), bands
    )


# The commits that healed latest, from the daily history's heals (a success in the range after
# a failure of its commit that started in the range); then the figures of just those commits,
# read by ix_runs_pipeline_id_commit and checked against the runs themselves.
_FLAKY = _query(
    """
with healed as (
    select heals.pipeline_id, heals.commit, max(heals.healed_at) as last_healed_at
    from history_heals as heals
    where heals.day between :start_day and :end_day
        and heals.last_failure_started_at >= :start_at
        and (not :by_pipeline or heals.pipeline_id = any(:pipeline_ids))
        and (cardinality(cast(:branches as text[])) = 0 or heals.branch = any(:branches))
    group by heals.pipeline_id, heals.commit
    order by last_healed_at desc
    limit :limit + 100  -- room for heals a removal undid since the last refresh
),

decided as (
    select runs.pipeline_id, runs.commit, runs.branch, runs.status, runs.finished_at,
        runs.attempt, runs.url
    from runs
    join healed on healed.pipeline_id = runs.pipeline_id and healed.commit = runs.commit
    where runs.status in ('success', 'failure') and {runs_in_scope}
),

commits as (
    select
        pipeline_id,
        commit,
        min(branch) as branch,
        count(*) filter (where status = 'failure') as failures,
        count(*) filter (where status = 'success') as successes,
        min(finished_at) filter (where status = 'failure') as first_failure_at,
        max(finished_at) filter (where status = 'success') as last_success_at,
        bool_or(status = 'success' and attempt > 1) as is_rerun_green,
        (array_agg(url order by finished_at desc) filter (where status = 'success'))[1] as url
    from decided
    group by pipeline_id, commit
    having min(finished_at) filter (where status = 'failure')
        < max(finished_at) filter (where status = 'success')
),

final as (
    select
        pipelines.name as pipeline,
        commits.commit as commit_sha,
        commits.branch,
        commits.failures,
        commits.successes,
        commits.first_failure_at,
        commits.last_success_at,
        commits.is_rerun_green,
        commits.url
    from commits
    join pipelines on pipelines.id = commits.pipeline_id
)

select * from final order by last_success_at desc limit :limit
"""
)


def flaky_commits(session: Session, scope: Scope, *, limit: int = 200) -> pd.DataFrame:
    """Commits that failed and later passed on the same pipeline within the range, latest
    green first: failures, successes, first failure, last success, whether a CI re-run
    (attempt > 1) was what turned it green, and the green run's URL. As fresh as the daily
    history's last refresh."""
    return _frame(session, _FLAKY, {**_bind(session, scope), "limit": limit})


# Per pipeline over the range, from the daily history (the branch history with branches).
_TOTALS = """
with totals as (
    select
        days.pipeline_id,
        sum(days.total)::bigint as runs,
        sum(days.success + days.failure)::bigint as decided,
        sum(days.avg_duration_sec * (days.success + days.failure)) as decided_duration_sec
    from {table} as days
    where {scope}
    group by days.pipeline_id
),

final as (
    select
        pipelines.name as pipeline,
        totals.runs,
        totals.decided,
        (totals.decided_duration_sec / nullif(totals.decided, 0))::float8 as avg_duration_sec,
        totals.decided_duration_sec::float8 as decided_duration_sec
    from totals
    join pipelines on pipelines.id = totals.pipeline_id
    where totals.decided > 0
)

select * from final
"""
_PIPELINE_TOTALS = _query(_TOTALS.format(table="history_pipeline_days", scope="{days_in_scope}"))
_BRANCH_TOTALS = _query(
    _TOTALS.format(
        table="history_branch_days", scope="{days_in_scope} and days.branch = any(:branches)"
    )
)


def slowest_pipelines(session: Session, scope: Scope) -> pd.DataFrame:
    """Each pipeline with decided runs in the range, slowest on average first: runs, average,
    p50 and p95 duration (as the module docstring says), and the time its decided runs took
    altogether."""
    totals = _frame(
        session, _BRANCH_TOTALS if scope.branches else _PIPELINE_TOTALS, _bind(session, scope)
    )
    spread = _spread(session, scope, None, per_pipeline=True, decided=int(totals["decided"].sum()))
    frame = totals.merge(spread, on="pipeline", how="left").sort_values(
        ["avg_duration_sec", "pipeline"], ascending=[False, True], na_position="last"
    )
    columns = ["pipeline", "runs", "avg_duration_sec", "p50_duration_sec", "p95_duration_sec"]
    return frame[[*columns, "decided_duration_sec"]].reset_index(drop=True)


_JOB_TIMES = _query(
    """
with jobs as ({jobs_in_scope}),

labelled as (
    select jobs.pipeline, jobs.job, label.runner_label, jobs.queue_sec, jobs.run_sec
    from jobs
    cross join lateral unnest(
        case when cardinality(jobs.runner_labels) > 0 then jobs.runner_labels
            else array['(none)'] end
    ) as label (runner_label)
),

final as (
    select
        pipeline,
        job,
        runner_label,
        count(*) as jobs,
        avg(queue_sec) as avg_queue_sec,
        percentile_cont(0.95) within group (order by queue_sec) as p95_queue_sec,
        avg(run_sec) as avg_run_sec,
        percentile_cont(0.95) within group (order by run_sec) as p95_run_sec
    from labelled
    group by pipeline, job, runner_label
)

select * from final order by avg_queue_sec + avg_run_sec desc nulls last, pipeline, job
"""
)


def job_times(session: Session, scope: Scope) -> pd.DataFrame:
    """GitHub jobs of the runs in scope, per (pipeline, job name, runner label; a job with
    several labels counts under each): jobs, average and p95 queue time (created to started)
    and run time (started to completed). Empty when no jobs are recorded."""
    frame = _frame(session, _JOB_TIMES, _bind(session, scope))
    return frame.astype({c: "float64" for c in frame.columns if c.endswith("_sec")})


_SLOWEST_STEPS = _query(
    """
with jobs as ({jobs_in_scope}),

steps as (
    select
        jobs.pipeline,
        jobs.job,
        step ->> 'name' as step,
        extract(epoch from (step ->> 'completed_at')::timestamptz
            - (step ->> 'started_at')::timestamptz)::float8 as step_sec
    from jobs
    cross join lateral jsonb_array_elements(jobs.steps) as step
    where step ->> 'started_at' is not null and step ->> 'completed_at' is not null
),

final as (
    select
        pipeline,
        job,
        step,
        count(*) as runs,
        avg(step_sec) as avg_sec,
        percentile_cont(0.95) within group (order by step_sec) as p95_sec,
        sum(step_sec) as total_sec
    from steps
    group by pipeline, job, step
)

select * from final order by total_sec desc, pipeline, job, step limit :limit
"""
)


def slowest_steps(session: Session, scope: Scope, *, limit: int = 25) -> pd.DataFrame:
    """The steps of GitHub jobs that took the most time altogether in the range: per
    (pipeline, job, step) how often it ran, its average, p95 and total seconds."""
    frame = _frame(session, _SLOWEST_STEPS, {**_bind(session, scope), "limit": limit})
    return frame.astype({"avg_sec": "float64", "p95_sec": "float64", "total_sec": "float64"})


# From the failed runs themselves, for a clock whose offset is not whole quarter-hours.
_HEATMAP = _query(
    """
with failed as (
    select runs.started_at + make_interval(mins => :offset_min) as local_at
    from runs
    where runs.status = 'failure' and {runs_in_scope}
),

final as (
    select
        extract(isodow from local_at at time zone 'UTC')::integer as weekday,
        extract(hour from local_at at time zone 'UTC')::integer as hour,
        count(*) as failures
    from failed
    group by 1, 2
)

select * from final order by weekday, hour
"""
)


# The same from the daily history's failures per UTC quarter-hour: exact on any clock whose
# offset is a whole number of quarter-hours (every time zone's is).
_HEATMAP_FROM_DAYS = _query(
    """
with days as ({history_rows}),

quarters as (
    select
        days.day::timestamp + make_interval(
            mins => (15 * (array_lower(days.failures_by_quarter, 1) + counts.i - 2))::integer
                + :offset_min
        ) as local_at,
        counts.n
    from days
    cross join lateral unnest(days.failures_by_quarter) with ordinality as counts (n, i)
    where counts.n <> 0
),

final as (
    select
        extract(isodow from local_at)::integer as weekday,
        extract(hour from local_at)::integer as hour,
        sum(n)::bigint as failures
    from quarters
    group by 1, 2
)

select * from final order by weekday, hour
"""
)


def failure_heatmap(session: Session, scope: Scope, *, offset_min: int = 0) -> pd.DataFrame:
    """Failed runs in scope per weekday (1 Monday .. 7 Sunday) and hour of their start, on a
    clock `offset_min` minutes ahead of UTC; only cells with failures. From the daily history
    (as fresh as its last refresh), or the runs for an offset that is not whole quarter-hours."""
    if not -16 * 60 <= offset_min <= 16 * 60:
        raise ValueError("offset_min must be within 16 hours of UTC")
    query = _HEATMAP_FROM_DAYS if offset_min % 15 == 0 else _HEATMAP
    params = {**_bind(session, scope), "offset_min": offset_min, "per_pipeline": False}
    return _frame(session, query, params)


# From the daily history (exact counts): branches and pipelines from their days, people from
# each day's decided runs per person who triggered them.
_FAILURES_BY_QUERIES = {
    "branch": _query(
        """
with scoped as (
    select days.branch as key, days.failure as failures, days.success + days.failure as decided
    from history_branch_days as days
    where {days_in_scope}
        and (cardinality(cast(:branches as text[])) = 0 or days.branch = any(:branches))
),
{failures_ranked}"""
    ),
    "pipeline": _query(
        """
with days as (
    select days.pipeline_id, days.failure, days.success
    from history_pipeline_days as days
    where {days_in_scope} and cardinality(cast(:branches as text[])) = 0
    union all
    select days.pipeline_id, days.failure, days.success
    from history_branch_days as days
    where {days_in_scope} and days.branch = any(:branches)
),

scoped as (
    select pipelines.name as key, days.failure as failures, days.success + days.failure as decided
    from days
    join pipelines on pipelines.id = days.pipeline_id
),
{failures_ranked}"""
    ),
    "triggered_by": _query(
        """
with days as ({history_rows}),

scoped as (
    select
        person.key,
        (person.value ->> 0)::bigint as failures,
        (person.value ->> 1)::bigint as decided
    from days
    cross join lateral jsonb_each(days.decided_by_trigger) as person
),
{failures_ranked}"""
    ),
}
Dimension = Literal["branch", "triggered_by", "pipeline"]


def failures_by(
    session: Session, scope: Scope, dimension: Dimension, *, limit: int = 20
) -> pd.DataFrame:
    """Failed runs in scope per branch, per person or bot that triggered them, or per pipeline,
    most failures first: failures, decided runs and the failure rate (`key` is the value)."""
    if dimension not in _FAILURES_BY_QUERIES:
        raise ValueError(f"no failures by {dimension!r}")
    params = {**_bind(session, scope), "limit": limit, "per_pipeline": False}
    return _frame(session, _FAILURES_BY_QUERIES[dimension], params)


# The newest runs first: across pipelines read backwards along ix_runs_started_at_id until
# `limit` match; for chosen pipelines along each one's ix_runs_pipeline_id_started_at (one of
# 200 pipelines over a year of 10M runs: 1,000 rows read, not 200,000 filtered), merged. Only
# the runs picked are joined to their pipeline's name.
_RUNS = _query(
    """
with across as (
    select runs.*
    from runs
    where not :by_pipeline and {runs_match}
    order by runs.started_at desc, runs.id desc
    limit :limit
),

chosen as (
    select runs.*
    from unnest(cast(:pipeline_ids as integer[])) as chosen (pipeline_id)
    cross join lateral (
        select runs.*
        from runs
        where runs.pipeline_id = chosen.pipeline_id and {runs_match}
        order by runs.started_at desc, runs.id desc
        limit :limit
    ) as runs
    where :by_pipeline
),

picked as (
    select * from across
    union all
    select * from chosen
    order by started_at desc, id desc
    limit :limit
),

final as (
    select
        picked.id as run_id,
        pipelines.name as pipeline,
        picked.branch,
        picked.status::text as status,
        picked.started_at,
        picked.finished_at,
        picked.duration_sec,
        picked.commit as commit_sha,
        picked.triggered_by,
        picked.attempt,
        picked.conclusion,
        picked.source,
        picked.url
    from picked
    join pipelines on pipelines.id = picked.pipeline_id
)

select * from final order by started_at desc, run_id desc
"""
)


def run_list(
    session: Session,
    scope: Scope,
    *,
    statuses: tuple[str, ...] = (),
    triggered_by: str | None = None,
    commit: str | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The runs in scope, newest first, with these statuses (empty: all), by this person and
    with a commit starting with `commit` (None: any), at most `limit`."""
    params = {
        **_bind(session, scope),
        "statuses": list(statuses),
        "triggered_by": triggered_by,
        "commit": commit.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if commit
        else None,
        "limit": limit,
    }
    frame = _frame(session, _RUNS, params)
    return frame.astype({"duration_sec": "float64"})
