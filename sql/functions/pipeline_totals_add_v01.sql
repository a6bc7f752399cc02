-- pipeline_totals_add: add (p_sign 1) or take away (-1) one run in pipeline_hour_totals, the
-- running totals of its pipeline across branches. A row holds everything about the runs that
-- started before its hour_start: counts per status, the decided duration sum in integer ms and
-- the duration histogram (duration_bin). The first run of an hour opens the next hour's row;
-- the run then counts in every row from there on. Called by runs_keep_totals for the old and
-- the new row of a change, under the pipeline's advisory lock.
create or replace function pipeline_totals_add(p_run runs, p_sign integer)
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
