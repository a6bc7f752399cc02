-- run_summary: GET /api/metrics/summary: a window's figures overall and per pipeline (of one
-- branch with p_branch), as of now, or as of p_as_of (v02: the live hub's tests and checks compare
-- its incremental figures with this one as of the same time; see run_summary_lines).
-- - A pipeline's window [lo, hi) is totals(hi) - totals(lo): each is the latest running-total
--   row at or before the edge (pipeline_hour_totals, or branch_hour_totals with a branch
--   filter), plus the runs of the edge's own hour (from runs by its started_at index; + at hi,
--   - at lo). Two rows per pipeline whatever the window's length.
-- - The two histograms of a difference are read in step (one unnest of both), and only bins
--   whose counts differ go on to the merge; a window small enough to be read whole for exact
--   percentiles merges none.
-- - p50/p95 are exact for windows of at most p_exact_up_to runs (the caller passes
--   analytics.summary.EXACT_PERCENTILES_UP_TO), else read from the merged duration histograms:
--   within 1.96 % + 0.5 ms of percentile_cont (duration_bin; durations are binned in whole
--   milliseconds).
-- - last_status / last_finished_at are exact, by index probes per pipeline.
create or replace function run_summary(
    p_minutes integer,
    p_pipeline text,
    p_branch text,
    p_exact_up_to integer,
    p_as_of timestamptz default null
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
    select
        at.now as as_of,
        at.now - make_interval(mins => p_minutes) as window_start,
        -- started_at > window_start and <= now, as half-open [lo, hi) at microsecond resolution
        at.now - make_interval(mins => p_minutes) + interval '1 microsecond' as lo,
        at.now + interval '1 microsecond' as hi
    from (select coalesce(p_as_of, now()) as now) as at
),

in_scope as (
    select id as pipeline_id, name as pipeline
    from pipelines
    where p_pipeline is null or name = p_pipeline
),

-- The running totals before the window's end, minus those before its start: the pipeline's,
-- or with a branch filter its branch's. minus_hist is subtracted from duration_hist.
upto as (
    select
        in_scope.pipeline_id,
        edges.at,
        totals.*
    from in_scope
    cross join bounds
    cross join lateral (values (bounds.hi), (bounds.lo)) as edges (at)
    cross join lateral (
        (
            select
                pipeline_hour_totals.running, pipeline_hour_totals.success,
                pipeline_hour_totals.failure, pipeline_hour_totals.cancelled,
                pipeline_hour_totals.skipped, pipeline_hour_totals.decided_duration_ms,
                pipeline_hour_totals.duration_hist
            from pipeline_hour_totals
            where p_branch is null
                and pipeline_hour_totals.pipeline_id = in_scope.pipeline_id
                and pipeline_hour_totals.hour_start <= edges.at
            order by pipeline_hour_totals.hour_start desc
            limit 1
        )
        union all
        (
            select
                branch_hour_totals.running, branch_hour_totals.success,
                branch_hour_totals.failure, branch_hour_totals.cancelled,
                branch_hour_totals.skipped, branch_hour_totals.decided_duration_ms,
                branch_hour_totals.duration_hist
            from branch_hour_totals
            where p_branch is not null
                and branch_hour_totals.pipeline_id = in_scope.pipeline_id
                and branch_hour_totals.branch = p_branch
                and branch_hour_totals.hour_start <= edges.at
            order by branch_hour_totals.hour_start desc
            limit 1
        )
    ) as totals
),

rolled as (
    select
        upto_end.pipeline_id,
        upto_end.running - coalesce(upto_start.running, 0) as running,
        upto_end.success - coalesce(upto_start.success, 0) as success,
        upto_end.failure - coalesce(upto_start.failure, 0) as failure,
        upto_end.cancelled - coalesce(upto_start.cancelled, 0) as cancelled,
        upto_end.skipped - coalesce(upto_start.skipped, 0) as skipped,
        upto_end.decided_duration_ms - coalesce(upto_start.decided_duration_ms, 0)
            as decided_duration_ms,
        upto_end.duration_hist,
        upto_start.duration_hist as minus_hist
    from bounds
    join upto as upto_end on upto_end.at = bounds.hi
    left join upto as upto_start
        on upto_start.pipeline_id = upto_end.pipeline_id and upto_start.at = bounds.lo
),

-- The runs of each edge's own hour before the edge, read one by one with the sign they count
-- with.
edge_runs as (
    select
        runs.pipeline_id,
        edges.sign,
        runs.status,
        case when runs.status in ('success', 'failure')
            then round(runs.duration_sec * 1000)::bigint end as decided_ms
    from bounds
    cross join lateral (values (1, bounds.hi), (-1, bounds.lo)) as edges (sign, at)
    cross join lateral (
        select *
        from runs
        where runs.started_at >= date_trunc('hour', edges.at at time zone 'UTC') at time zone 'UTC'
            and runs.started_at < edges.at
            and (p_branch is null or runs.branch = p_branch)
        offset 0  -- a fence: planned per edge, as one index range scan
    ) as runs
    join in_scope on in_scope.pipeline_id = runs.pipeline_id
),

parts as (
    select
        pipeline_id, running, success, failure, cancelled, skipped, decided_duration_ms
    from rolled
    union all
    select
        pipeline_id,
        sign * (status = 'running')::integer,
        sign * (status = 'success')::integer,
        sign * (status = 'failure')::integer,
        sign * (status = 'cancelled')::integer,
        sign * (status = 'skipped')::integer,
        sign * coalesce(decided_ms, 0)
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
    -- unnest ... with ordinality reads each array once; subscripting it element by element
    -- (generate_subscripts) costs three times as much.
    select rolled.pipeline_id, (array_lower(rolled.duration_hist, 1) + bins.i - 1)::integer as bin, bins.n
    from rolled
    cross join lateral unnest(rolled.duration_hist) with ordinality as bins (n, i)
    where rolled.minus_hist is null
    union all
    -- A difference: both arrays in step, the one starting at the higher bin padded with zeros
    -- in front (a missing array, no decided runs, counts as empty).
    select rolled.pipeline_id, (pairs.first_bin + pairs.i - 1)::integer, pairs.n
    from rolled
    cross join lateral (
        select
            least(array_lower(rolled.duration_hist, 1), array_lower(rolled.minus_hist, 1))
                as first_bin,
            greatest(array_lower(rolled.duration_hist, 1) - array_lower(rolled.minus_hist, 1), 0)
                as plus_pad,
            greatest(array_lower(rolled.minus_hist, 1) - array_lower(rolled.duration_hist, 1), 0)
                as minus_pad
    ) as aligned
    cross join lateral (
        select aligned.first_bin, zipped.i, coalesce(zipped.plus, 0) - coalesce(zipped.minus, 0) as n
        from unnest(
            array_fill(0, array[aligned.plus_pad]) || rolled.duration_hist,
            array_fill(0, array[aligned.minus_pad]) || rolled.minus_hist
        ) with ordinality as zipped (plus, minus, i)
    ) as pairs
    where rolled.minus_hist is not null and pairs.n <> 0
    union all
    select pipeline_id, duration_bin(decided_ms), sign
    from edge_runs
    where decided_ms is not null
),

-- Merged only when the window is too large to be read whole (exact_percentiles).
bins as (
    select coalesce(pipeline_id, 0) as group_key, bin, sum(n) as n
    from bin_counts
    where n <> 0
        and (select totals.total from totals where totals.is_total) > p_exact_up_to
    group by grouping sets ((pipeline_id, bin), (bin))
    having sum(n) <> 0
),

-- percentile_cont's 0-based ranks: between floor(pos) and ceil(pos), pos = p * (n - 1).
targets as (
    select
        group_key,
        0.5 * (success + failure - 1) as p50_pos,
        0.95 * (success + failure - 1) as p95_pos
    from totals
    where success + failure > 0
),

-- The bin holding rank r is the first whose running count exceeds r: one pass per group.
picked as (
    select
        cumulative.group_key,
        min(cumulative.bin) filter (where cumulative.rank_to > floor(targets.p50_pos)) as p50_lo,
        min(cumulative.bin) filter (where cumulative.rank_to > ceil(targets.p50_pos)) as p50_hi,
        min(cumulative.bin) filter (where cumulative.rank_to > floor(targets.p95_pos)) as p95_lo,
        min(cumulative.bin) filter (where cumulative.rank_to > ceil(targets.p95_pos)) as p95_hi
    from (
        select group_key, bin, sum(n) over (partition by group_key order by bin) as rank_to
        from bins
    ) as cumulative
    join targets on targets.group_key = cumulative.group_key
    group by cumulative.group_key
),

percentiles as (
    select
        picked.group_key,
        (duration_bin_value_ms(picked.p50_lo) + (targets.p50_pos - floor(targets.p50_pos))
            * (duration_bin_value_ms(picked.p50_hi) - duration_bin_value_ms(picked.p50_lo)))
            / 1000 as p50_duration_sec,
        (duration_bin_value_ms(picked.p95_lo) + (targets.p95_pos - floor(targets.p95_pos))
            * (duration_bin_value_ms(picked.p95_hi) - duration_bin_value_ms(picked.p95_lo)))
            / 1000 as p95_duration_sec
    from picked
    join targets on targets.group_key = picked.group_key
),

-- A window of at most p_exact_up_to runs is read whole, for exact percentiles: bounded work,
-- and a lone 42 s run shows a p50 of 42, not its bin's 42.118.
exact_percentiles as (
    select
        case when grouping(runs.pipeline_id) = 1 then 0 else runs.pipeline_id end as group_key,
        percentile_cont(0.5) within group (order by runs.duration_sec) as p50_duration_sec,
        percentile_cont(0.95) within group (order by runs.duration_sec) as p95_duration_sec
    from bounds
    join runs
        on runs.started_at > bounds.window_start
        and runs.started_at <= bounds.as_of
    join in_scope on in_scope.pipeline_id = runs.pipeline_id
    where runs.status in ('success', 'failure')
        and (p_branch is null or runs.branch = p_branch)
        and (select totals.total from totals where totals.is_total) <= p_exact_up_to
    group by grouping sets ((runs.pipeline_id), ())
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
    select
        totals.group_key,
        case
            when last_failure.finished_at is null then 'success'::run_status
            when last_success.finished_at is null then 'failure'::run_status
            when (last_success.finished_at, last_success.id)
                > (last_failure.finished_at, last_failure.id) then 'success'::run_status
            else 'failure'::run_status
        end,
        greatest(last_success.finished_at, last_failure.finished_at)
    from totals
    cross join bounds
    left join lateral (
        select runs.finished_at, runs.id
        from runs
        where runs.pipeline_id = totals.pipeline_id
            and runs.status = 'success'
            and runs.finished_at > bounds.window_start
            -- Not indexable on purpose: the walk back along finished_at stops at the first
            -- hit, where a scan by started_at would sort every run of the window.
            and runs.started_at - bounds.window_start > interval '0'
            and bounds.as_of - runs.started_at >= interval '0'
            and (p_branch is null or runs.branch = p_branch)
        order by runs.finished_at desc, runs.id desc
        limit 1
    ) as last_success on true
    left join lateral (
        select runs.finished_at, runs.id
        from runs
        where runs.pipeline_id = totals.pipeline_id
            and runs.status = 'failure'
            and runs.finished_at > bounds.window_start
            -- Not indexable on purpose: the walk back along finished_at stops at the first
            -- hit, where a scan by started_at would sort every run of the window.
            and runs.started_at - bounds.window_start > interval '0'
            and bounds.as_of - runs.started_at >= interval '0'
            and (p_branch is null or runs.branch = p_branch)
        order by runs.finished_at desc, runs.id desc
        limit 1
    ) as last_failure on true
    where not totals.is_total
        and (last_success.id is not null or last_failure.id is not null)
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
        round(
            coalesce(exact_percentiles.p50_duration_sec, percentiles.p50_duration_sec)::numeric, 3
        )::float8 as p50_duration_sec,
        round(
            coalesce(exact_percentiles.p95_duration_sec, percentiles.p95_duration_sec)::numeric, 3
        )::float8 as p95_duration_sec,
        last_results.status as last_status,
        last_results.finished_at as last_finished_at,
        bounds.as_of
    from totals
    cross join bounds
    left join in_scope on in_scope.pipeline_id = totals.pipeline_id
    left join percentiles on percentiles.group_key = totals.group_key
    left join exact_percentiles on exact_percentiles.group_key = totals.group_key
    left join last_results on last_results.group_key = totals.group_key
    where totals.is_total or totals.total > 0
)

select * from final
$$;
