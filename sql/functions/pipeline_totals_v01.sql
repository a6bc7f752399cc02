-- pipeline_hour_totals: per pipeline, everything about its runs that started before
-- hour_start; every hour that holds a run opens a row at the next hour. For any t, the latest
-- row at or before t misses only the runs of t's own hour (read from runs by its started_at
-- index), so an unfiltered window [lo, hi) is totals(hi) - totals(lo): two rows per pipeline
-- whatever its length (run_summary v04).
--
-- Replaces pipeline_hour_rollups and pipeline_day_totals, which an unfiltered window read as
-- whole days (two rows) plus up to 46 hour rows per pipeline, and costs one statement less
-- per write. A run changes every row after its hour: one row as runs happen; as many as hours
-- have passed for a late correction (a correction from a month ago rewrites ~720 rows).
-- Writers hold the pipeline's advisory lock (see rollups_v01.sql), so rows lock in one order.

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

-- Recompute one pipeline's rows from its hour rollups (rebuild_rollups, and migration 0007):
-- a row at the hour after each hour with runs, holding the totals of all before it.
create or replace function pipeline_hour_totals_rebuild(p_pipeline_id integer)
returns void
language sql
as $$
    delete from pipeline_hour_totals where pipeline_id = p_pipeline_id;
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
            bucket_start as hour_start,
            sum(running) as running,
            sum(success) as success,
            sum(failure) as failure,
            sum(cancelled) as cancelled,
            sum(skipped) as skipped,
            sum(decided_duration_ms) as decided_duration_ms,
            hist_sum(duration_hist) as duration_hist
        from run_rollups
        where pipeline_id = p_pipeline_id and grain = 'hour'
        group by bucket_start
    ) as hours
    window upto as (order by hour_start rows between unbounded preceding and current row);
$$;
