-- pipeline_health: all-time health per pipeline (per pipeline and branch when p_branch is given).
-- Only decided runs (success, failure) count: cancelled and skipped runs neither break nor extend
-- a streak. Time to green averages the failure episodes whose recovering success finished inside
-- the last p_window_minutes (all time when null).
create or replace function pipeline_health(
    p_window_minutes integer default null,
    p_pipeline text default null,
    p_branch text default null
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
with decided as (
    select
        pipelines.name as pipeline,
        runs.id as run_id,
        runs.status,
        runs.finished_at
    from runs
    join pipelines on pipelines.id = runs.pipeline_id
    where runs.status in ('success', 'failure')
        and (p_pipeline is null or pipelines.name = p_pipeline)
        and (p_branch is null or runs.branch = p_branch)
),

ordered as (
    select
        decided.*,
        row_number() over newest as recency,
        -- Failures that share this count belong to one episode; the next success ends it.
        count(*) filter (where status = 'success') over oldest as successes_so_far
    from decided
    window
        newest as (partition by pipeline order by finished_at desc, run_id desc),
        oldest as (
            partition by pipeline order by finished_at, run_id
            rows between unbounded preceding and current row
        )
),

latest as (
    select
        pipeline,
        (array_agg(status order by recency))[1] as latest_status,
        coalesce(min(recency) filter (where status = 'success') - 1, count(*)) as failure_streak,
        max(finished_at) filter (where status = 'success') as last_success_at,
        max(finished_at) filter (where status = 'failure') as last_failure_at
    from ordered
    group by pipeline
),

streak_starts as (
    select ordered.pipeline, ordered.finished_at as failing_since
    from ordered
    join latest
        on latest.pipeline = ordered.pipeline
        and ordered.recency = latest.failure_streak
    where latest.failure_streak > 0
),

episodes as (
    select pipeline, successes_so_far as episode, min(finished_at) as first_failure_at
    from ordered
    where status = 'failure'
    group by pipeline, successes_so_far
),

recoveries as (
    select
        episodes.pipeline,
        extract(epoch from ordered.finished_at - episodes.first_failure_at) as time_to_green_sec
    from episodes
    join ordered
        on ordered.pipeline = episodes.pipeline
        and ordered.status = 'success'
        and ordered.successes_so_far = episodes.episode + 1
    where p_window_minutes is null
        or (ordered.finished_at > now() - make_interval(mins => p_window_minutes)
            and ordered.finished_at <= now())
),

time_to_green as (
    select pipeline, avg(time_to_green_sec) as mean_time_to_green_sec
    from recoveries
    group by pipeline
),

in_scope as (
    select name as pipeline
    from pipelines
    where p_pipeline is null or name = p_pipeline
),

final as (
    select
        in_scope.pipeline,
        case latest.latest_status
            when 'success' then 'passing'
            when 'failure' then 'failing'
            else 'unknown'
        end as state,
        coalesce(latest.failure_streak, 0)::integer as failure_streak,
        streak_starts.failing_since,
        latest.last_success_at,
        latest.last_failure_at,
        round(time_to_green.mean_time_to_green_sec::numeric, 3)::float8 as mean_time_to_green_sec
    from in_scope
    left join latest using (pipeline)
    left join streak_starts using (pipeline)
    left join time_to_green using (pipeline)
)

select * from final
$$;
