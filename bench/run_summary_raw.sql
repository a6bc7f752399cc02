-- The summary's figures as a plain GROUP BY over runs with its best index: bench/summary.py's
-- baseline ('raw'), the query the API ran before the rollups. Not part of the schema.
create or replace function run_summary_raw(
    p_minutes integer,
    p_pipeline text default null,
    p_branch text default null
)
returns table (
    is_total boolean,
    pipeline text,
    total bigint,
    success bigint,
    failure bigint,
    running bigint,
    cancelled bigint,
    skipped bigint,
    success_rate double precision,
    avg_duration_sec double precision,
    p50_duration_sec double precision,
    p95_duration_sec double precision,
    last_status run_status,
    last_finished_at timestamptz,
    as_of timestamptz
)
language sql
stable
as $$
with windowed as (
    select
        pipelines.name as pipeline,
        runs.id as run_id,
        runs.status,
        runs.finished_at,
        runs.duration_sec,
        runs.status in ('success', 'failure') as is_decided
    from runs
    join pipelines on pipelines.id = runs.pipeline_id
    where runs.started_at > now() - make_interval(mins => p_minutes)
        and runs.started_at <= now()
        and (p_pipeline is null or pipelines.name = p_pipeline)
        and (p_branch is null or runs.branch = p_branch)
),

grouped as (
    select
        grouping(pipeline) = 1 as is_total,
        pipeline,
        count(*) as total,
        count(*) filter (where status = 'success') as success,
        count(*) filter (where status = 'failure') as failure,
        count(*) filter (where status = 'running') as running,
        count(*) filter (where status = 'cancelled') as cancelled,
        count(*) filter (where status = 'skipped') as skipped,
        avg(duration_sec) filter (where is_decided) as avg_duration_sec,
        percentile_cont(0.5) within group (order by duration_sec)
            filter (where is_decided) as p50_duration_sec,
        percentile_cont(0.95) within group (order by duration_sec)
            filter (where is_decided) as p95_duration_sec,
        (array_agg(status order by finished_at desc, run_id desc)
            filter (where is_decided))[1] as last_status,
        max(finished_at) filter (where is_decided) as last_finished_at
    from windowed
    group by grouping sets ((pipeline), ())
),

final as (
    select
        is_total,
        pipeline,
        total,
        success,
        failure,
        running,
        cancelled,
        skipped,
        round(success::numeric / nullif(success + failure, 0), 4)::float8 as success_rate,
        round(avg_duration_sec::numeric, 3)::float8 as avg_duration_sec,
        round(p50_duration_sec::numeric, 3)::float8 as p50_duration_sec,
        round(p95_duration_sec::numeric, 3)::float8 as p95_duration_sec,
        last_status,
        last_finished_at,
        now() as as_of
    from grouped
)

select * from final
$$;
