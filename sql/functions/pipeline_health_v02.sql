-- pipeline_health: each pipeline's health (of one branch with p_branch): state by the latest
-- decided run, failure streak, failing since, latest success and failure (index probes on the
-- decided runs; the streak counts only the failures since the last success), and the mean
-- time to green over the window: recoveries in [lo, hi) are totals(hi) - totals(lo), where
-- totals(t) is the latest recovery_totals row at or before t plus the recoveries of t's own
-- hour, two rows per pipeline whatever the window. All time when p_window_minutes is null.
-- Serves GET /api/metrics/summary, GET /api/pipelines and refresh_history's snapshot.
-- v02: as of p_as_of (default now) and for the pipelines p_pipeline_ids only (default all): the
-- live hub recomputes only the pipelines a tick changed (ingest_api/live/hub.py).
create or replace function pipeline_health(
    p_window_minutes integer default null,
    p_pipeline text default null,
    p_branch text default null,
    p_as_of timestamptz default null,
    p_pipeline_ids integer[] default null
)
returns table (
    pipeline text,
    state text,
    failure_streak integer,
    failing_since timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    mean_time_to_green_sec double precision
)
language sql
stable
as $$
with in_scope as (
    select id as pipeline_id, name as pipeline
    from pipelines
    where (p_pipeline is null or name = p_pipeline)
        and (p_pipeline_ids is null or id = any(p_pipeline_ids))
),

latest as (
    select
        in_scope.pipeline_id,
        in_scope.pipeline,
        last_success.id as success_id,
        last_success.finished_at as last_success_at,
        last_failure.id as failure_id,
        last_failure.finished_at as last_failure_at,
        last_failure.id is not null
            and (last_success.id is null
                 or (last_failure.finished_at, last_failure.id)
                    > (last_success.finished_at, last_success.id)) as is_failing
    from in_scope
    -- One index probe each; of each pair, the branch that does not apply is skipped at once.
    left join lateral (
        (
            select runs.id, runs.finished_at from runs
            where p_branch is null
                and runs.pipeline_id = in_scope.pipeline_id and runs.status = 'success'
            order by runs.finished_at desc, runs.id desc
            limit 1
        )
        union all
        (
            select runs.id, runs.finished_at from runs
            where p_branch is not null
                and runs.pipeline_id = in_scope.pipeline_id and runs.branch = p_branch
                and runs.status = 'success'
            order by runs.finished_at desc, runs.id desc
            limit 1
        )
    ) as last_success on true
    left join lateral (
        (
            select runs.id, runs.finished_at from runs
            where p_branch is null
                and runs.pipeline_id = in_scope.pipeline_id and runs.status = 'failure'
            order by runs.finished_at desc, runs.id desc
            limit 1
        )
        union all
        (
            select runs.id, runs.finished_at from runs
            where p_branch is not null
                and runs.pipeline_id = in_scope.pipeline_id and runs.branch = p_branch
                and runs.status = 'failure'
            order by runs.finished_at desc, runs.id desc
            limit 1
        )
    ) as last_failure on true
),

streaks as (
    select
        latest.pipeline_id,
        first_failure.finished_at as failing_since,
        (
            select count(*)
            from runs
            where runs.pipeline_id = latest.pipeline_id
                and runs.status = 'failure'
                and (p_branch is null or runs.branch = p_branch)
                and (runs.finished_at, runs.id)
                    > (coalesce(latest.last_success_at, '-infinity'),
                       coalesce(latest.success_id, 0))
        ) as failure_streak
    from latest
    cross join lateral decided_neighbor(
        latest.pipeline_id, p_branch, 'failure',
        coalesce(latest.last_success_at, '-infinity'), coalesce(latest.success_id, 0), true
    ) as first_failure
    where latest.is_failing
),

-- Recoveries before each edge of the window, in the scope: + at its end, - at its start.
edges as (
    select
        1 as sign,
        case when p_window_minutes is null then 'infinity'
            else coalesce(p_as_of, now()) + interval '1 microsecond' end as t
    union all
    select
        -1,
        coalesce(p_as_of, now()) - make_interval(mins => p_window_minutes)
            + interval '1 microsecond'
    where p_window_minutes is not null
),

recovered as (
    select
        in_scope.pipeline_id,
        edges.sign * (coalesce(before_hour.recoveries, 0) + in_hour.recoveries) as recoveries,
        edges.sign * (coalesce(before_hour.time_to_green_us, 0) + in_hour.time_to_green_us)
            as time_to_green_us
    from in_scope
    cross join edges
    left join lateral (
        select recovery_totals.hour_start, recovery_totals.recoveries,
            recovery_totals.time_to_green_us
        from recovery_totals
        where recovery_totals.per_branch = (p_branch is not null)
            and recovery_totals.pipeline_id = in_scope.pipeline_id
            and recovery_totals.branch = coalesce(p_branch, '')
            and recovery_totals.hour_start <= edges.t
        order by recovery_totals.hour_start desc
        limit 1
    ) as before_hour on true
    cross join lateral (
        select count(*) as recoveries, coalesce(sum(recoveries.time_to_green_us), 0)
            as time_to_green_us
        from recoveries
        where recoveries.pipeline_id = in_scope.pipeline_id
            and recoveries.per_branch = (p_branch is not null)
            and (p_branch is null or recoveries.branch = p_branch)
            and recoveries.recovered_at >= coalesce(before_hour.hour_start, '-infinity')
            and recoveries.recovered_at < edges.t
    ) as in_hour
),

time_to_green as (
    select
        pipeline_id,
        sum(time_to_green_us)::numeric / nullif(sum(recoveries), 0) / 1000000
            as mean_time_to_green_sec
    from recovered
    group by pipeline_id
),

final as (
    select
        latest.pipeline,
        case
            when latest.is_failing then 'failing'
            when latest.success_id is not null then 'passing'
            else 'unknown'
        end as state,
        coalesce(streaks.failure_streak, 0)::integer as failure_streak,
        streaks.failing_since,
        latest.last_success_at,
        latest.last_failure_at,
        round(time_to_green.mean_time_to_green_sec, 3)::float8 as mean_time_to_green_sec
    from latest
    left join streaks on streaks.pipeline_id = latest.pipeline_id
    left join time_to_green on time_to_green.pipeline_id = latest.pipeline_id
)

select * from final
$$;
