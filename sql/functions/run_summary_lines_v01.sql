-- run_summary_lines: WS /ws/metrics: run_summary's per-pipeline lines as of p_as_of for the
-- pipelines p_pipeline_ids only (all in scope when null), each with what the live hub needs to
-- merge the overall figures itself: its decided_duration_ms, its window's duration histogram
-- (bins and counts, when percentiles come from histograms) or its decided runs' durations in
-- order (when they are exact), and the id of its latest decided run. The hub keeps every
-- pipeline's line and recomputes only those a tick changed
-- (ingest_api/live/hub.py; summary_edge_pipelines names those the window's edges passed).
-- - Grain: one row per recomputed pipeline with a run in the window, plus one row with
--   is_total: the recomputed pipelines' totals and whether percentiles are exact (the hub takes
--   the whole window's exact p50/p95 from every line's durations, as percentile_cont does).
-- - Percentiles are exact (percentile_cont) when the whole window holds at most p_exact_up_to
--   runs: p_rest_total (the caller's count of the window's runs in pipelines it does not
--   recompute) plus these pipelines' runs, as run_summary decides it; else from histograms.
-- - The same expressions as run_summary (sql/functions/run_summary_v02.sql), so each line
--   equals run_summary's for that pipeline as of p_as_of; tests/live/test_incremental.py
--   checks it.
create or replace function run_summary_lines(
    p_minutes integer,
    p_pipeline text,
    p_branch text,
    p_pipeline_ids integer[],
    p_as_of timestamptz,
    p_exact_up_to integer,
    p_rest_total bigint
)
returns table (
    is_total boolean,
    pipeline_id integer,
    pipeline text,
    total bigint,
    success bigint,
    failure bigint,
    running bigint,
    cancelled bigint,
    skipped bigint,
    decided_duration_ms bigint,
    success_rate double precision,
    avg_duration_sec double precision,
    p50_duration_sec double precision,
    p95_duration_sec double precision,
    last_status run_status,
    last_finished_at timestamptz,
    last_id bigint,
    hist_bins integer[],
    hist_counts integer[],
    durations double precision[],
    is_exact boolean,
    as_of timestamptz
)
language sql
stable
as $$
with bounds as (
    select
        p_as_of as as_of,
        p_as_of - make_interval(mins => p_minutes) as window_start,
        -- started_at > window_start and <= as_of, as half-open [lo, hi) at microsecond resolution
        p_as_of - make_interval(mins => p_minutes) + interval '1 microsecond' as lo,
        p_as_of + interval '1 microsecond' as hi
),

-- The pipelines of the subscription that are recomputed.
in_scope as (
    select id as pipeline_id, name as pipeline
    from pipelines
    where (p_pipeline is null or name = p_pipeline)
        and (p_pipeline_ids is null or id = any(p_pipeline_ids))
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
-- with. One index range scan per pipeline and edge: the hour before the window's end holds
-- every pipeline's latest runs (72,000 at 20 runs/s), of which a tick wants a few pipelines'.
edge_runs as (
    select
        in_scope.pipeline_id,
        edges.sign,
        runs.status,
        case when runs.status in ('success', 'failure')
            then round(runs.duration_sec * 1000)::bigint end as decided_ms
    from bounds
    cross join lateral (values (1, bounds.hi), (-1, bounds.lo)) as edges (sign, at)
    cross join in_scope
    cross join lateral (
        select runs.status, runs.duration_sec
        from runs
        where runs.pipeline_id = in_scope.pipeline_id
            and runs.started_at
                >= date_trunc('hour', edges.at at time zone 'UTC') at time zone 'UTC'
            and runs.started_at < edges.at
            and (p_branch is null or runs.branch = p_branch)
        -- A fence: kept a lateral subquery, probed per pipeline and edge. Flattened, the
        -- planner read all of runs once every pipeline was in scope (6.4 s at 10M runs, a
        -- first or whole computation; 50 ms with the fence).
        offset 0
    ) as runs
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

regime as (
    select p_rest_total + totals.total <= p_exact_up_to as is_exact
    from totals
    where totals.is_total
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

-- Each pipeline's histogram, kept by the hub to merge the overall percentiles: only when
-- they come from histograms.
bins as (
    select bin_counts.pipeline_id, bin_counts.bin, sum(bin_counts.n) as n
    from bin_counts
    where bin_counts.n <> 0 and not (select regime.is_exact from regime)
    group by bin_counts.pipeline_id, bin_counts.bin
    having sum(bin_counts.n) <> 0
),

histograms as (
    select
        pipeline_id,
        array_agg(bin order by bin) as hist_bins,
        array_agg(n::integer order by bin) as hist_counts
    from bins
    group by pipeline_id
),

-- percentile_cont's 0-based ranks: between floor(pos) and ceil(pos), pos = p * (n - 1).
targets as (
    select
        group_key,
        0.5 * (success + failure - 1) as p50_pos,
        0.95 * (success + failure - 1) as p95_pos
    from totals
    where success + failure > 0 and not totals.is_total
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
        select
            pipeline_id as group_key,
            bin,
            sum(n) over (partition by pipeline_id order by bin) as rank_to
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

-- Exact: each recomputed pipeline's runs read whole (at most p_exact_up_to), with their
-- durations in order for the hub's overall percentiles.
exact_percentiles as (
    select
        runs.pipeline_id as group_key,
        percentile_cont(0.5) within group (order by runs.duration_sec) as p50_duration_sec,
        percentile_cont(0.95) within group (order by runs.duration_sec) as p95_duration_sec,
        array_agg(runs.duration_sec order by runs.duration_sec)
            filter (where runs.duration_sec is not null) as durations
    from bounds
    join runs
        on runs.started_at > bounds.window_start
        and runs.started_at <= bounds.as_of
    join in_scope on in_scope.pipeline_id = runs.pipeline_id
    where runs.status in ('success', 'failure')
        and (p_branch is null or runs.branch = p_branch)
        and (select regime.is_exact from regime)
    group by runs.pipeline_id
),

-- Each pipeline's decided run with the latest finished_at among its window's runs, as in
-- run_summary, with its id (the hub takes the overall one as the latest of these).
last_results as (
    select
        totals.group_key,
        winner.status,
        winner.finished_at,
        winner.id
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
            and runs.started_at - bounds.window_start > interval '0'
            and bounds.as_of - runs.started_at >= interval '0'
            and (p_branch is null or runs.branch = p_branch)
        order by runs.finished_at desc, runs.id desc
        limit 1
    ) as last_failure on true
    cross join lateral (
        select
            case
                when last_failure.id is null then 'success'::run_status
                when last_success.id is null then 'failure'::run_status
                when (last_success.finished_at, last_success.id)
                    > (last_failure.finished_at, last_failure.id) then 'success'::run_status
                else 'failure'::run_status
            end as status,
            greatest(last_success.finished_at, last_failure.finished_at) as finished_at
    ) as decided
    cross join lateral (
        select
            decided.status,
            decided.finished_at,
            case when decided.status = 'success' then last_success.id else last_failure.id end
                as id
    ) as winner
    where not totals.is_total
        and (last_success.id is not null or last_failure.id is not null)
),

final as (
    select
        totals.is_total,
        totals.pipeline_id,
        in_scope.pipeline,
        totals.total,
        totals.success,
        totals.failure,
        totals.running,
        totals.cancelled,
        totals.skipped,
        totals.decided_duration_ms,
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
        last_results.id as last_id,
        histograms.hist_bins,
        histograms.hist_counts,
        exact_percentiles.durations,
        regime.is_exact,
        bounds.as_of
    from totals
    cross join bounds
    cross join regime
    left join in_scope on in_scope.pipeline_id = totals.pipeline_id
    left join percentiles on percentiles.group_key = totals.group_key
    left join exact_percentiles on exact_percentiles.group_key = totals.group_key
    left join last_results on last_results.group_key = totals.group_key
    left join histograms on histograms.pipeline_id = totals.pipeline_id
    where totals.is_total or totals.total > 0
)

select * from final
$$;
