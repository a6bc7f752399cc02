-- Running totals per hour: pipeline_hour_totals (per pipeline) and branch_hour_totals (per
-- pipeline and branch). A row holds everything about the scope's runs that started before its
-- hour_start: counts per status, the decided duration sum in integer ms and the duration
-- histogram. Every hour that holds a run opens a row at the next hour, so for any t the latest
-- row at or before t misses only the runs of t's own hour (read from runs by its started_at
-- index), and a window [lo, hi) is totals(hi) - totals(lo): two rows per pipeline whatever its
-- length (run_summary v04).
--
-- Replaces run_rollups (per branch and UTC hour, day and month), pipeline_hour_rollups and
-- pipeline_day_totals. A write costs two statements per scope where it cost an upsert of
-- three rows plus three statements (measured on 4,000 ingests: the rollup triggers took about
-- half the time), and a window reads two rows per pipeline where it read up to ~70. The price:
-- a run changes every row after its hour, so a correction from a month ago rewrites ~720 rows
-- per scope (ordinary ingest: one), and the cumulative histograms make wider rows.
-- Writers hold the pipeline's advisory lock (see rollups_v01.sql), so rows lock in one order.

-- The pipeline-wide running totals (runs_keep_rollups calls it for the old and new row).
create or replace function pipeline_rollup_add(p_run runs, p_sign integer)
returns void
language plpgsql
as $$
declare
    is_decided constant boolean := p_run.status in ('success', 'failure');
    decided_ms constant bigint := case when is_decided
        then round(p_run.duration_sec * 1000)::bigint else 0 end;
    bin constant integer := duration_bin(decided_ms);
    next_hour constant timestamptz :=
        (date_trunc('hour', p_run.started_at at time zone 'UTC') + interval '1 hour')
        at time zone 'UTC';
begin
    -- The first run of an hour opens the next hour's row: the latest totals before it, since
    -- no run lies between (it would have opened a row of its own).
    insert into pipeline_hour_totals (
        pipeline_id, hour_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        p_run.pipeline_id, next_hour,
        coalesce(previous.running, 0), coalesce(previous.success, 0),
        coalesce(previous.failure, 0), coalesce(previous.cancelled, 0),
        coalesce(previous.skipped, 0), coalesce(previous.decided_duration_ms, 0),
        previous.duration_hist
    from (select 1) as one
    left join lateral (
        select *
        from pipeline_hour_totals
        where pipeline_id = p_run.pipeline_id and hour_start < next_hour
        order by hour_start desc
        limit 1
    ) as previous on true
    on conflict (pipeline_id, hour_start) do nothing;

    update pipeline_hour_totals set
        running = running + p_sign * (p_run.status = 'running')::integer,
        success = success + p_sign * (p_run.status = 'success')::integer,
        failure = failure + p_sign * (p_run.status = 'failure')::integer,
        cancelled = cancelled + p_sign * (p_run.status = 'cancelled')::integer,
        skipped = skipped + p_sign * (p_run.status = 'skipped')::integer,
        decided_duration_ms = decided_duration_ms + p_sign * decided_ms,
        duration_hist = case when is_decided
            then hist_add(duration_hist, bin, p_sign) else duration_hist end
    where pipeline_id = p_run.pipeline_id and hour_start >= next_hour;
end;
$$;

-- The branch's running totals: pipeline_rollup_add's statements with the branch in the key.
-- Written out rather than built as dynamic SQL, so each keeps its cached plan on every ingest.
create or replace function rollup_add(p_run runs, p_sign integer)
returns void
language plpgsql
as $$
declare
    is_decided constant boolean := p_run.status in ('success', 'failure');
    decided_ms constant bigint := case when is_decided
        then round(p_run.duration_sec * 1000)::bigint else 0 end;
    bin constant integer := duration_bin(decided_ms);
    next_hour constant timestamptz :=
        (date_trunc('hour', p_run.started_at at time zone 'UTC') + interval '1 hour')
        at time zone 'UTC';
begin
    -- The first run of an hour opens the next hour's row: the latest totals before it, since
    -- no run lies between (it would have opened a row of its own).
    insert into branch_hour_totals (
        pipeline_id, branch, hour_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        p_run.pipeline_id, p_run.branch, next_hour,
        coalesce(previous.running, 0), coalesce(previous.success, 0),
        coalesce(previous.failure, 0), coalesce(previous.cancelled, 0),
        coalesce(previous.skipped, 0), coalesce(previous.decided_duration_ms, 0),
        previous.duration_hist
    from (select 1) as one
    left join lateral (
        select *
        from branch_hour_totals
        where pipeline_id = p_run.pipeline_id
            and branch = p_run.branch
            and hour_start < next_hour
        order by hour_start desc
        limit 1
    ) as previous on true
    on conflict (pipeline_id, branch, hour_start) do nothing;

    update branch_hour_totals set
        running = running + p_sign * (p_run.status = 'running')::integer,
        success = success + p_sign * (p_run.status = 'success')::integer,
        failure = failure + p_sign * (p_run.status = 'failure')::integer,
        cancelled = cancelled + p_sign * (p_run.status = 'cancelled')::integer,
        skipped = skipped + p_sign * (p_run.status = 'skipped')::integer,
        decided_duration_ms = decided_duration_ms + p_sign * decided_ms,
        duration_hist = case when is_decided
            then hist_add(duration_hist, bin, p_sign) else duration_hist end
    where pipeline_id = p_run.pipeline_id
        and branch = p_run.branch
        and hour_start >= next_hour;
end;
$$;

-- Recompute one pipeline's running totals, per branch and across branches, from its runs in
-- one pass (rebuild_rollups, and migration 0006): a row at the hour after each hour with runs,
-- holding the totals of all before it.
create or replace function hour_totals_rebuild(p_pipeline_id integer)
returns void
language plpgsql
as $$
begin
    delete from branch_hour_totals where pipeline_id = p_pipeline_id;
    delete from pipeline_hour_totals where pipeline_id = p_pipeline_id;

    -- Each branch's hours, summed into the pipeline's below.
    create temporary table hour_figures on commit drop as
    with keyed as (
        select
            runs.branch,
            date_trunc('hour', runs.started_at at time zone 'UTC') at time zone 'UTC'
                as hour_start,
            runs.status,
            case when runs.status in ('success', 'failure')
                then round(runs.duration_sec * 1000)::bigint end as decided_ms
        from runs
        where runs.pipeline_id = p_pipeline_id
    ),

    counts as (
        select
            branch,
            hour_start,
            count(*) filter (where status = 'running') as running,
            count(*) filter (where status = 'success') as success,
            count(*) filter (where status = 'failure') as failure,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'skipped') as skipped,
            coalesce(sum(decided_ms), 0) as decided_duration_ms
        from keyed
        group by branch, hour_start
    ),

    hists as (
        select branch, hour_start, hist_agg(bin, n order by bin) as duration_hist
        from (
            select branch, hour_start, duration_bin(decided_ms) as bin, count(*) as n
            from keyed
            where decided_ms is not null
            group by branch, hour_start, duration_bin(decided_ms)
        ) as bin_counts
        group by branch, hour_start
    )

    select counts.*, hists.duration_hist
    from counts
    left join hists using (branch, hour_start);

    insert into branch_hour_totals (
        pipeline_id, branch, hour_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        p_pipeline_id,
        branch,
        hour_start + interval '1 hour',
        sum(running) over upto,
        sum(success) over upto,
        sum(failure) over upto,
        sum(cancelled) over upto,
        sum(skipped) over upto,
        sum(decided_duration_ms) over upto,
        hist_sum(duration_hist) over upto
    from hour_figures
    window upto as (
        partition by branch order by hour_start
        rows between unbounded preceding and current row
    );

    insert into pipeline_hour_totals (
        pipeline_id, hour_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        p_pipeline_id,
        hour_start + interval '1 hour',
        sum(running) over upto,
        sum(success) over upto,
        sum(failure) over upto,
        sum(cancelled) over upto,
        sum(skipped) over upto,
        sum(decided_duration_ms) over upto,
        hist_sum(duration_hist) over upto
    from (
        select
            hour_start,
            sum(running) as running,
            sum(success) as success,
            sum(failure) as failure,
            sum(cancelled) as cancelled,
            sum(skipped) as skipped,
            sum(decided_duration_ms) as decided_duration_ms,
            hist_sum(duration_hist) as duration_hist
        from hour_figures
        group by hour_start
    ) as hours
    window upto as (order by hour_start rows between unbounded preceding and current row);

    drop table hour_figures;
end;
$$;
