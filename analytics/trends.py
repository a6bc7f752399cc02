"""Trends over a date range for the Streamlit pages, as DataFrames.

Every function takes a `Scope`: UTC days `start`..`end` (both included) of `started_at`, and
optional pipelines and branches (empty means all). Figures that add up across days (counts,
recoveries, time to green, re-run recoveries) are read from the daily views that `pulse worker`
keeps, so they are as fresh as its last refresh. Percentiles and first-try rates do not add up
across days or pipelines, so a week, a month or several pipelines together read them from
`runs_staged` (exact `percentile_cont`, like the views), as do the per-run lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

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
            "start_at": datetime.combine(self.start, time(), UTC),
            "end_at": datetime.combine(self.end + timedelta(days=1), time(), UTC),
            "pipelines": list(self.pipelines),
            "branches": list(self.branches),
        }


_IN_SCOPE = """
    {alias}started_at >= :start_at and {alias}started_at < :end_at
    and (cardinality(cast(:pipelines as text[])) = 0 or {alias}pipeline = any(:pipelines))
    and (cardinality(cast(:branches as text[])) = 0 or {alias}branch = any(:branches))
"""
_RUNS_IN_SCOPE = _IN_SCOPE.format(alias="")
_DAYS_IN_SCOPE = """
    day between :start_day and :end_day
    and (cardinality(cast(:pipelines as text[])) = 0 or pipeline = any(:pipelines))
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
    where {jobs_scope}
"""


def _query(template: str) -> TextClause:
    """A statement from a template whose placeholders are the fixed scope conditions above;
    values are always bound parameters."""
    return text(
        template.format(
            runs_in_scope=_RUNS_IN_SCOPE,
            days_in_scope=_DAYS_IN_SCOPE,
            jobs_in_scope=_JOBS_IN_SCOPE.format(jobs_scope=_IN_SCOPE.format(alias="runs_staged.")),
        )
    )


# Additive daily figures per period (and pipeline); the branch view when branches are chosen.
_DAILY = """
with days as (
    select
        case when :per_pipeline then pipeline else '' end as pipeline,
        date_trunc(:grain, day::timestamp)::date as period,
        total, success, failure, running, cancelled, skipped,
        avg_duration_sec * (success + failure) as decided_duration_sec,
        recoveries,
        mean_time_to_green_sec * recoveries as time_to_green_sec,
        rerun_recoveries
    from {view}
    where {scope}
),

final as (
    select
        pipeline,
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
    group by pipeline, period
)

select * from final
"""
_PIPELINE_DAILY = text(_DAILY.format(view="daily_pipeline_history", scope=_DAYS_IN_SCOPE))
_BRANCH_DAILY = text(
    _DAILY.format(
        view="daily_branch_history",
        scope=_DAYS_IN_SCOPE + " and branch = any(:branches)",
    )
)

# What does not add up across days: percentiles and the first-try rate, per period (and
# pipeline), from the runs themselves.
_FROM_RUNS = _query(
    """
with scoped as (
    select
        case when :per_pipeline then pipeline else '' end as pipeline,
        date_trunc(:grain, started_day::timestamp)::date as period,
        duration_sec,
        is_success,
        attempt
    from runs_staged
    where is_decided and {runs_in_scope}
),

final as (
    select
        pipeline,
        period,
        round(percentile_cont(0.5) within group (order by duration_sec)::numeric, 3)::float8
            as p50_duration_sec,
        round(percentile_cont(0.95) within group (order by duration_sec)::numeric, 3)::float8
            as p95_duration_sec,
        round(
            (count(*) filter (where attempt = 1 and is_success))::numeric
                / nullif(count(*) filter (where attempt = 1), 0),
            4
        )::float8 as first_try_success_rate
    from scoped
    group by pipeline, period
)

select * from final
"""
)

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


def _frame(session: Session, query: TextClause, params: dict[str, Any]) -> pd.DataFrame:
    result = session.execute(query, params)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


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


def period_trends(
    session: Session, scope: Scope, *, grain: Grain = "day", per_pipeline: bool = False
) -> pd.DataFrame:
    """One row per period of the range (every period, runs or not) and, with `per_pipeline`,
    per pipeline that ran in it (else `pipeline` is ""): counts per status, success rate and
    first-try success rate (attempt-1 runs; null where no run records its attempt), average /
    p50 / p95 duration of decided runs, runs per day, recoveries with their mean time to green,
    and re-run recoveries."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    params = {**scope.params(), "grain": grain, "per_pipeline": per_pipeline}
    daily = _frame(session, _BRANCH_DAILY if scope.branches else _PIPELINE_DAILY, params)
    from_runs = _frame(session, _FROM_RUNS, params)
    merged = daily.merge(from_runs, on=["pipeline", "period"], how="outer")
    names = sorted(set(merged["pipeline"])) if per_pipeline else [""]
    grid = pd.DataFrame(
        [(name, period) for name in names for period in _period_starts(scope, grain)],
        columns=["pipeline", "period"],
    )
    frame = grid.merge(merged, on=["pipeline", "period"], how="left")
    counts = [*STATUSES, "total", "recoveries", "rerun_recoveries"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    decided = frame["success"] + frame["failure"]
    frame["success_rate"] = (frame["success"] / decided.where(decided > 0)).round(4)
    frame["runs_per_day"] = frame["total"] / [
        _days_in_range(period, grain, scope) for period in frame["period"]
    ]
    frame["period"] = pd.to_datetime(frame["period"])
    floats = [c for c in TREND_COLUMNS if c not in {"pipeline", "period", *counts}]
    frame[floats] = frame[floats].astype("float64")
    return frame[TREND_COLUMNS].reset_index(drop=True)


def range_totals(session: Session, scope: Scope) -> dict[str, float | None]:
    """The whole range as one period: total, success rate, first-try success rate, p50, p95,
    runs per day (for the week-over-week comparison)."""
    params = {**scope.params(), "grain": "day", "per_pipeline": False}
    daily = _frame(session, _BRANCH_DAILY if scope.branches else _PIPELINE_DAILY, params)
    total = int(daily["total"].sum()) if len(daily) else 0
    success = int(daily["success"].sum()) if len(daily) else 0
    failure = int(daily["failure"].sum()) if len(daily) else 0
    row = session.execute(_RANGE_FROM_RUNS, params).one()
    return {
        "total": float(total),
        "success_rate": round(success / (success + failure), 4) if success + failure else None,
        "first_try_success_rate": row.first_try_success_rate,
        "p50_duration_sec": row.p50_duration_sec,
        "p95_duration_sec": row.p95_duration_sec,
        "runs_per_day": total / scope.days,
    }


_RANGE_FROM_RUNS = _query(
    """
select
    round(percentile_cont(0.5) within group (order by duration_sec)::numeric, 3)::float8
        as p50_duration_sec,
    round(percentile_cont(0.95) within group (order by duration_sec)::numeric, 3)::float8
        as p95_duration_sec,
    round(
        (count(*) filter (where attempt = 1 and is_success))::numeric
            / nullif(count(*) filter (where attempt = 1), 0),
        4
    )::float8 as first_try_success_rate
from runs_staged
where is_decided and {runs_in_scope}
"""
)

_OPTIONS = text(
    """
select pipeline, branch, sum(total)::bigint as runs
from daily_branch_history
where day between :start_day and :end_day
group by pipeline, branch
order by pipeline, runs desc, branch
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
    pairs = _frame(session, _OPTIONS, scope.params())
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


_RECOVERIES = text(
    """
with episodes as (
    select
        pipelines.name as pipeline,
        recoveries.branch,
        recoveries.recovered_at,
        (recoveries.time_to_green_us / 1e6)::float8 as time_to_green_sec,
        runs_staged.url
    from recoveries
    join pipelines on pipelines.id = recoveries.pipeline_id
    join runs_staged on runs_staged.run_id = recoveries.run_id
    where recoveries.per_branch = (cardinality(cast(:branches as text[])) > 0)
        and recoveries.recovered_at >= :start_at and recoveries.recovered_at < :end_at
        and (cardinality(cast(:pipelines as text[])) = 0 or pipelines.name = any(:pipelines))
        and (cardinality(cast(:branches as text[])) = 0 or recoveries.branch = any(:branches))
)

select * from episodes order by recovered_at desc
"""
)


def recovery_episodes(session: Session, scope: Scope) -> pd.DataFrame:
    """Each failure episode that ended in the range, newest first: when green came back
    (`recovered_at`), how long red lasted and the run that ended it. Episodes of the whole
    pipeline; with branches chosen, those of each branch itself."""
    frame = _frame(session, _RECOVERIES, scope.params())
    return frame.astype({"time_to_green_sec": "float64"})


_FLAKY = _query(
    """
with decided as (
    select pipeline, branch, commit_sha, is_success, finished_at, attempt, url
    from runs_staged
    where is_decided and {runs_in_scope}
),

commits as (
    select
        pipeline,
        commit_sha,
        min(branch) as branch,
        count(*) filter (where not is_success) as failures,
        count(*) filter (where is_success) as successes,
        min(finished_at) filter (where not is_success) as first_failure_at,
        max(finished_at) filter (where is_success) as last_success_at,
        bool_or(is_success and attempt > 1) as is_rerun_green,
        (array_agg(url order by finished_at desc) filter (where is_success))[1] as url
    from decided
    group by pipeline, commit_sha
),

final as (
    select * from commits
    where first_failure_at < last_success_at
)

select * from final order by last_success_at desc limit :limit
"""
)


def flaky_commits(session: Session, scope: Scope, *, limit: int = 200) -> pd.DataFrame:
    """Commits that failed and later passed on the same pipeline within the range, latest
    green first: failures, successes, first failure, last success, whether a CI re-run
    (attempt > 1) was what turned it green, and the green run's URL."""
    return _frame(session, _FLAKY, {**scope.params(), "limit": limit})


_SLOWEST = _query(
    """
with totals as (
    select
        pipeline,
        sum(total)::bigint as runs,
        sum(avg_duration_sec * (success + failure)) as decided_duration_sec,
        sum(avg_duration_sec * (success + failure)) / nullif(sum(success + failure), 0)
            as avg_duration_sec
    from daily_pipeline_history
    where {days_in_scope}
    group by pipeline
),

spread as (
    select
        pipeline,
        round(percentile_cont(0.5) within group (order by duration_sec)::numeric, 3)::float8
            as p50_duration_sec,
        round(percentile_cont(0.95) within group (order by duration_sec)::numeric, 3)::float8
            as p95_duration_sec
    from runs_staged
    where is_decided and {runs_in_scope}
    group by pipeline
),

final as (
    select
        totals.pipeline,
        totals.runs,
        totals.avg_duration_sec::float8 as avg_duration_sec,
        spread.p50_duration_sec,
        spread.p95_duration_sec,
        totals.decided_duration_sec::float8 as decided_duration_sec
    from totals
    join spread on spread.pipeline = totals.pipeline
)

select * from final order by avg_duration_sec desc nulls last, pipeline
"""
)


def slowest_pipelines(session: Session, scope: Scope) -> pd.DataFrame:
    """Each pipeline with decided runs in the range, slowest on average first: runs, average,
    p50 and p95 duration, and the time its decided runs took altogether."""
    return _frame(session, _SLOWEST, scope.params())


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
    frame = _frame(session, _JOB_TIMES, scope.params())
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
    frame = _frame(session, _SLOWEST_STEPS, {**scope.params(), "limit": limit})
    return frame.astype({"avg_sec": "float64", "p95_sec": "float64", "total_sec": "float64"})


_HEATMAP = _query(
    """
with failed as (
    select started_at + make_interval(mins => :offset_min) as local_at
    from runs_staged
    where status = 'failure' and {runs_in_scope}
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


def failure_heatmap(session: Session, scope: Scope, *, offset_min: int = 0) -> pd.DataFrame:
    """Failed runs in scope per weekday (1 Monday .. 7 Sunday) and hour of their start, on a
    clock `offset_min` minutes ahead of UTC; only cells with failures."""
    if not -16 * 60 <= offset_min <= 16 * 60:
        raise ValueError("offset_min must be within 16 hours of UTC")
    return _frame(session, _HEATMAP, {**scope.params(), "offset_min": offset_min})


_FAILURES_BY = """
with scoped as (
    select {column} as key, status
    from runs_staged
    where is_decided and {scope}
),

final as (
    select
        key,
        count(*) filter (where status = 'failure') as failures,
        count(*) as decided,
        round(
            (count(*) filter (where status = 'failure'))::numeric / count(*), 4
        )::float8 as failure_rate
    from scoped
    group by key
)

select * from final where failures > 0 order by failures desc, key limit :limit
"""
_FAILURES_BY_QUERIES = {
    column: text(_FAILURES_BY.format(column=column, scope=_RUNS_IN_SCOPE))
    for column in ("branch", "triggered_by", "pipeline")
}
Dimension = Literal["branch", "triggered_by", "pipeline"]


def failures_by(
    session: Session, scope: Scope, dimension: Dimension, *, limit: int = 20
) -> pd.DataFrame:
    """Failed runs in scope per branch, per person or bot that triggered them, or per pipeline,
    most failures first: failures, decided runs and the failure rate (`key` is the value)."""
    if dimension not in _FAILURES_BY_QUERIES:
        raise ValueError(f"no failures by {dimension!r}")
    return _frame(session, _FAILURES_BY_QUERIES[dimension], {**scope.params(), "limit": limit})


_RUNS = _query(
    """
select
    run_id, pipeline, branch, status, started_at, finished_at, duration_sec, commit_sha,
    triggered_by, attempt, conclusion, source, url
from runs_staged
where {runs_in_scope}
    and (cardinality(cast(:statuses as text[])) = 0 or status = any(:statuses))
    and (cast(:triggered_by as text) is null or triggered_by = :triggered_by)
    and (cast(:commit as text) is null or commit_sha like :commit || '%')
order by started_at desc, run_id desc
limit :limit
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
        **scope.params(),
        "statuses": list(statuses),
        "triggered_by": triggered_by,
        "commit": commit.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if commit
        else None,
        "limit": limit,
    }
    frame = _frame(session, _RUNS, params)
    return frame.astype({"duration_sec": "float64"})
