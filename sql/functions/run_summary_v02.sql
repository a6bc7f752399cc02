-- run_summary v02: the same figures as v01, read from run_rollups instead of scanning runs.
-- The window [now - p_minutes, now] is cut into whole months, days and hours (rollup rows)
-- and ragged edges of under an hour each (read from runs by its started_at index), so counts,
-- sums and rates are exact and the cost stays flat as runs pile up. p50/p95 come from the
-- merged duration histograms: within 1.96 % of percentile_cont (duration_bins_v01.sql).
-- last_status / last_finished_at are exact, by index probes per pipeline.
create or replace function run_summary(
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
with bounds as (
    select now() as as_of, now() - make_interval(mins => p_minutes) as window_start
),

in_scope as (
    select id as pipeline_id, name as pipeline
    from pipelines
    where p_pipeline is null or name = p_pipeline
),

-- started_at > window_start and <= now, as half-open [lo, hi) at microsecond resolution.
spans as (
    select spans.*
    from bounds
    cross join lateral window_spans(
        bounds.window_start + interval '1 microsecond', bounds.as_of + interval '1 microsecond'
    ) as spans
),

rolled as (
    select
        run_rollups.pipeline_id,
        run_rollups.running,
        run_rollups.success,
        run_rollups.failure,
        run_rollups.cancelled,
        run_rollups.skipped,
        run_rollups.decided_duration_ms,
        run_rollups.duration_hist
    from spans
    cross join lateral (
        select *
        from run_rollups
        where run_rollups.grain = spans.grain
            and run_rollups.bucket_start >= spans.lo
            and run_rollups.bucket_start < spans.hi
            and (p_branch is null or run_rollups.branch = p_branch)
        offset 0  -- a fence: planned per span, as one index range scan
    ) as run_rollups
    join in_scope on in_scope.pipeline_id = run_rollups.pipeline_id
    where spans.grain <> 'raw'
),

edge_runs as (
    select
        runs.pipeline_id,
        runs.status,
        case when runs.status in ('success', 'failure')
            then round(runs.duration_sec * 1000)::bigint end as decided_ms
    from spans
    cross join lateral (
        select *
        from runs
        where runs.started_at >= spans.lo
            and runs.started_at < spans.hi
            and (p_branch is null or runs.branch = p_branch)
        offset 0  -- a fence: planned per span, as one index range scan
    ) as runs
    join in_scope on in_scope.pipeline_id = runs.pipeline_id
    where spans.grain = 'raw'
),

parts as (
    select
        pipeline_id, running, success, failure, cancelled, skipped, decided_duration_ms
    from rolled
    union all
    select
        pipeline_id,
        (status = 'running')::integer,
        (status = 'success')::integer,
        (status = 'failure')::integer,
        (status = 'cancelled')::integer,
        (status = 'skipped')::integer,
        coalesce(decided_ms, 0)
    from edge_runs
),

totals as (
    select
        grouping(pipeline_id) = 1 as is_total,
        coalesce(pipeline_id, 0) as group_key,
        pipeline_id,
        coalesce(sum(running + success + failure + cancelled + skipped), 0)::bigint as total,
        coalesce(sum(success), 0)::bigint as success,
        coalesce(sum(failure), 0)::bigint as failure,
        coalesce(sum(running), 0)::bigint as running,
        coalesce(sum(cancelled), 0)::bigint as cancelled,
        coalesce(sum(skipped), 0)::bigint as skipped,
        coalesce(sum(decided_duration_ms), 0)::bigint as decided_duration_ms
    from parts
    group by grouping sets ((pipeline_id), ())
),

bin_counts as (
    select rolled.pipeline_id, bins.bin, rolled.duration_hist[bins.bin] as n
    from rolled
    cross join lateral generate_subscripts(rolled.duration_hist, 1) as bins (bin)
    union all
    select pipeline_id, duration_bin(decided_ms), 1
    from edge_runs
    where decided_ms is not null
),

bins as (
    select coalesce(pipeline_id, 0) as group_key, bin, sum(n) as n
    from bin_counts
    where n <> 0
    group by grouping sets ((pipeline_id, bin), (bin))
),

cumulative as (
    select
        group_key,
        bin,
        sum(n) over (partition by group_key order by bin) - n as rank_from,
        sum(n) over (partition by group_key order by bin) as rank_to
    from bins
),

-- percentile_cont's 0-based ranks: between floor(pos) and ceil(pos), pos = p * (n - 1).
quantiles as (
    select totals.group_key, q.fraction, q.fraction * (totals.success + totals.failure - 1) as pos
    from totals
    cross join (values (0.5::float8), (0.95::float8)) as q (fraction)
    where totals.success + totals.failure > 0
),

quantile_values as (
    select
        quantiles.group_key,
        quantiles.fraction,
        min(duration_bin_value_ms(cumulative.bin)) filter (
            where floor(quantiles.pos) >= cumulative.rank_from
            and floor(quantiles.pos) < cumulative.rank_to
        ) as low_ms,
        min(duration_bin_value_ms(cumulative.bin)) filter (
            where ceil(quantiles.pos) >= cumulative.rank_from
            and ceil(quantiles.pos) < cumulative.rank_to
        ) as high_ms,
        quantiles.pos - floor(quantiles.pos) as weight
    from quantiles
    join cumulative on cumulative.group_key = quantiles.group_key
    group by quantiles.group_key, quantiles.fraction, quantiles.pos
),

percentiles as (
    select
        group_key,
        max((low_ms + weight * (high_ms - low_ms)) / 1000)
            filter (where fraction = 0.5) as p50_duration_sec,
        max((low_ms + weight * (high_ms - low_ms)) / 1000)
            filter (where fraction = 0.95) as p95_duration_sec
    from quantile_values
    group by group_key
),

-- The decided run with the latest finished_at among the window's runs. It finished after the
-- window opened, so each probe walks back from the newest result only as far as the window:
-- across pipelines by finished_at, per pipeline by status and finished_at.
last_results as (
    select totals.group_key, latest.status, latest.finished_at
    from totals
    cross join bounds
    cross join lateral (
        select runs.status, runs.finished_at
        from runs
        join in_scope on in_scope.pipeline_id = runs.pipeline_id
        where runs.status in ('success', 'failure')
            and runs.finished_at > bounds.window_start
            and runs.started_at > bounds.window_start
            and runs.started_at <= bounds.as_of
            and (p_branch is null or runs.branch = p_branch)
        order by runs.finished_at desc, runs.id desc
        limit 1
    ) as latest
    where totals.is_total
    union all
    select totals.group_key, latest.status, latest.finished_at
    from totals
    cross join bounds
    cross join lateral (
        select candidates.status, candidates.finished_at
        from (values ('success'::run_status), ('failure'::run_status)) as wanted (status)
        cross join lateral (
            select runs.status, runs.finished_at, runs.id
            from runs
            where runs.pipeline_id = totals.pipeline_id
                and runs.status = wanted.status
                and runs.status in ('success', 'failure')
                and runs.finished_at > bounds.window_start
                and runs.started_at > bounds.window_start
                and runs.started_at <= bounds.as_of
                and (p_branch is null or runs.branch = p_branch)
            order by runs.finished_at desc, runs.id desc
            limit 1
        ) as candidates
        order by candidates.finished_at desc, candidates.id desc
        limit 1
    ) as latest
    where not totals.is_total
),

final as (
    select
        totals.is_total,
        in_scope.pipeline,
        totals.total,
        totals.success,
        totals.failure,
        totals.running,
        totals.cancelled,
        totals.skipped,
        round(totals.success::numeric / nullif(totals.success + totals.failure, 0), 4)::float8
            as success_rate,
        round(
            totals.decided_duration_ms::numeric / nullif(totals.success + totals.failure, 0)
            / 1000,
            3
        )::float8 as avg_duration_sec,
        round(percentiles.p50_duration_sec::numeric, 3)::float8 as p50_duration_sec,
        round(percentiles.p95_duration_sec::numeric, 3)::float8 as p95_duration_sec,
        last_results.status as last_status,
        last_results.finished_at as last_finished_at,
        bounds.as_of
    from totals
    cross join bounds
    left join in_scope on in_scope.pipeline_id = totals.pipeline_id
    left join percentiles on percentiles.group_key = totals.group_key
    left join last_results on last_results.group_key = totals.group_key
    where totals.is_total or totals.total > 0
)

select * from final
$$;
