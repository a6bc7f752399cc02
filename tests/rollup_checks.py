"""Independent checks of the rollup tables against plain GROUP BYs over runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

Executor = Session | Connection

# Both running-total tables as one: branch is null on the pipeline-wide rows.
# Each row against a plain count of its scope's runs that started before its hour, and every
# hour with a run followed by a row in both scopes (else a window edge after it would miss it).
HOUR_TOTAL_MISMATCHES = text(
    """
    with totals as (
        select pipeline_id, null as branch, hour_start, running, success, failure, cancelled,
            skipped, decided_duration_ms, duration_hist
        from pipeline_hour_totals
        union all
        select pipeline_id, branch, hour_start, running, success, failure, cancelled,
            skipped, decided_duration_ms, duration_hist
        from branch_hour_totals
    )

    select totals.pipeline_id, totals.branch, totals.hour_start
    from totals
    cross join lateral (
        select
            count(*) filter (where status = 'running') as running,
            count(*) filter (where status = 'success') as success,
            count(*) filter (where status = 'failure') as failure,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'skipped') as skipped,
            coalesce(sum(round(duration_sec * 1000)::bigint)
                filter (where status in ('success', 'failure')), 0) as decided_duration_ms,
            coalesce(
                (select jsonb_object_agg(bin, n) from (
                    select duration_bin(round(r.duration_sec * 1000)::bigint) as bin,
                        count(*) as n
                    from runs r
                    where r.pipeline_id = totals.pipeline_id
                        and (totals.branch is null or r.branch = totals.branch)
                        and r.started_at < totals.hour_start
                        and r.status in ('success', 'failure')
                    group by 1) b),
                '{}'::jsonb
            ) as hist
        from runs
        where runs.pipeline_id = totals.pipeline_id
            and (totals.branch is null or runs.branch = totals.branch)
            and runs.started_at < totals.hour_start
    ) as expected
    where (totals.running, totals.success, totals.failure, totals.cancelled, totals.skipped,
           totals.decided_duration_ms)
        is distinct from (expected.running, expected.success, expected.failure,
                          expected.cancelled, expected.skipped, expected.decided_duration_ms)
        or coalesce(
            (select jsonb_object_agg(s, totals.duration_hist[s])
             from generate_subscripts(totals.duration_hist, 1) s
             where totals.duration_hist[s] <> 0),
            '{}'::jsonb
        ) <> expected.hist
    union all
    select runs.pipeline_id, scopes.branch, runs.started_at
    from runs
    cross join lateral (values (null), (runs.branch)) as scopes (branch)
    where not exists (
        select from totals
        where totals.pipeline_id = runs.pipeline_id
            and totals.branch is not distinct from scopes.branch
            and totals.hour_start = date_trunc('hour', runs.started_at at time zone 'UTC')
                at time zone 'UTC' + interval '1 hour'
    )
    """
)

# The rows where a scope's totals change: what a rebuild must reproduce (triggers may leave
# rows that change nothing, after a run went away or moved).
HOUR_TOTAL_STEPS = text(
    """
    select pipeline_id, branch, hour_start, running, success, failure, cancelled, skipped,
        decided_duration_ms, hist
    from (
        select *,
            lag(figures, 1, '[0, 0, 0, 0, 0, 0, {}]'::jsonb) over (
                partition by pipeline_id, branch order by hour_start
            ) as previous
        from (
            select *,
                jsonb_build_array(
                    running, success, failure, cancelled, skipped, decided_duration_ms, hist
                ) as figures
            from (
                select pipeline_id, branch, hour_start, running, success, failure, cancelled,
                    skipped, decided_duration_ms, coalesce(
                        (select jsonb_object_agg(s, duration_hist[s])
                         from generate_subscripts(duration_hist, 1) s
                         where duration_hist[s] <> 0),
                        '{}'::jsonb
                    ) as hist
                from (
                    select pipeline_id, null as branch, hour_start, running, success, failure,
                        cancelled, skipped, decided_duration_ms, duration_hist
                    from pipeline_hour_totals
                    union all
                    select pipeline_id, branch, hour_start, running, success, failure,
                        cancelled, skipped, decided_duration_ms, duration_hist
                    from branch_hour_totals
                ) as totals
            ) as rows
        ) as with_figures
    ) as steps
    where figures <> previous
    """
)


# Each recovery total against a plain count of its scope's recoveries before its hour, and
# every hour with a recovery followed by a row (else a window edge after it would miss it).
RECOVERY_TOTAL_MISMATCHES = text(
    """
    select totals.per_branch, totals.pipeline_id, totals.branch, totals.hour_start
    from recovery_totals as totals
    cross join lateral (
        select count(*) as recoveries, coalesce(sum(time_to_green_us), 0) as time_to_green_us
        from recoveries
        where recoveries.per_branch = totals.per_branch
            and recoveries.pipeline_id = totals.pipeline_id
            and (not totals.per_branch or recoveries.branch = totals.branch)
            and recoveries.recovered_at < totals.hour_start
    ) as expected
    where (totals.recoveries, totals.time_to_green_us)
        <> (expected.recoveries, expected.time_to_green_us)
    union all
    select recoveries.per_branch, recoveries.pipeline_id, recoveries.branch,
        recoveries.recovered_at
    from recoveries
    where not exists (
        select from recovery_totals as totals
        where totals.per_branch = recoveries.per_branch
            and totals.pipeline_id = recoveries.pipeline_id
            and totals.branch = case when recoveries.per_branch then recoveries.branch else '' end
            and totals.hour_start = date_trunc('hour', recoveries.recovered_at at time zone 'UTC')
                at time zone 'UTC' + interval '1 hour'
    )
    """
)

# The rows where a scope's totals change: what a rebuild must reproduce (triggers may leave
# rows that change nothing, after a recovery went away).
RECOVERY_TOTAL_STEPS = text(
    """
    select per_branch, pipeline_id, branch, hour_start, recoveries, time_to_green_us
    from (
        select *, lag((recoveries, time_to_green_us), 1, (0::bigint, 0::bigint)) over (
            partition by per_branch, pipeline_id, branch order by hour_start
        ) as previous
        from recovery_totals
    ) as rows
    where (recoveries, time_to_green_us) <> previous
    """
)


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):  # a histogram as {bin: count}
        return tuple(sorted((int(k), v) for k, v in value.items()))
    return value


def _rows(db: Executor, query: Any) -> set[tuple[Any, ...]]:
    return {
        tuple(sorted((k, _hashable(v)) for k, v in row.items()))
        for row in db.execute(query).mappings()
    }


def recovery_state(db: Executor) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    recoveries = _rows(
        db,
        text(
            "select run_id, per_branch, pipeline_id, branch, recovered_at, time_to_green_us"
            " from recoveries"
        ),
    )
    assert db.execute(RECOVERY_TOTAL_MISMATCHES).all() == []
    return recoveries, _rows(db, RECOVERY_TOTAL_STEPS)


def rebuild_all(db: Executor) -> None:
    db.execute(text("select rebuild_rollups(id) from pipelines"))


def _assert_hour_totals(db: Executor) -> set[tuple[Any, ...]]:
    assert db.execute(HOUR_TOTAL_MISMATCHES).all() == []
    return _rows(db, HOUR_TOTAL_STEPS)


def assert_rollups_exact(db: Executor) -> None:
    """Every running total equals a count over runs or recoveries, and a rebuild changes
    nothing."""
    hour_totals = _assert_hour_totals(db)
    recoveries = recovery_state(db)
    rebuild_all(db)
    assert _assert_hour_totals(db) == hour_totals
    assert recovery_state(db) == recoveries
