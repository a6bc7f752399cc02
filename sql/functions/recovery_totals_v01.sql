-- recovery_totals: time to green over any window from two rows per scope. A row holds the
-- totals of the scope's recoveries with recovered_at before its hour_start; every hour that
-- holds a recovery opens a row at the next hour. So for any t, the latest row at or before t
-- misses only recoveries of t's own hour, read from `recoveries` through its index, and a
-- window [lo, hi) is totals(hi) - totals(lo) (pipeline_health v03).
--
-- Replaces recovery_rollups (hour, day and month sums), which a 30-day window read as about
-- 30 rows per pipeline. A recovery changes every row after its hour: one row as recoveries
-- happen, more for a late correction (as pipeline_hour_totals does for runs).
-- Writers hold the pipeline's advisory lock (see rollups_v01.sql), so rows lock in one order.

create or replace function recovery_totals_add(p_recovery recoveries, p_sign integer)
returns void
language plpgsql
as $$
declare
    scope_branch constant text := case when p_recovery.per_branch then p_recovery.branch else '' end;
    next_hour constant timestamptz :=
        (date_trunc('hour', p_recovery.recovered_at at time zone 'UTC') + interval '1 hour')
        at time zone 'UTC';
begin
    -- The first recovery of an hour opens the next hour's row: the latest totals before it,
    -- since no recovery lies between (it would have opened a row of its own).
    insert into recovery_totals (
        per_branch, pipeline_id, branch, hour_start, recoveries, time_to_green_us
    )
    select
        p_recovery.per_branch, p_recovery.pipeline_id, scope_branch, next_hour,
        coalesce(previous.recoveries, 0), coalesce(previous.time_to_green_us, 0)
    from (select 1) as one
    left join lateral (
        select recovery_totals.recoveries, recovery_totals.time_to_green_us
        from recovery_totals
        where recovery_totals.per_branch = p_recovery.per_branch
            and recovery_totals.pipeline_id = p_recovery.pipeline_id
            and recovery_totals.branch = scope_branch
            and recovery_totals.hour_start < next_hour
        order by recovery_totals.hour_start desc
        limit 1
    ) as previous on true
    on conflict (per_branch, pipeline_id, branch, hour_start) do nothing;

    update recovery_totals set
        recoveries = recoveries + p_sign,
        time_to_green_us = time_to_green_us + p_sign * p_recovery.time_to_green_us
    where per_branch = p_recovery.per_branch
        and pipeline_id = p_recovery.pipeline_id
        and branch = scope_branch
        and hour_start >= next_hour;
end;
$$;

-- Recompute one pipeline's rows from its recoveries (rebuild_rollups, and migration 0006): a
-- row at the hour after each hour with recoveries, holding the totals of all before it.
create or replace function recovery_totals_rebuild(p_pipeline_id integer)
returns void
language sql
as $$
    delete from recovery_totals where pipeline_id = p_pipeline_id;
    insert into recovery_totals (
        per_branch, pipeline_id, branch, hour_start, recoveries, time_to_green_us
    )
    select
        per_branch, p_pipeline_id, branch, hour_start + interval '1 hour',
        sum(recoveries) over upto,
        sum(time_to_green_us) over upto
    from (
        select
            recoveries.per_branch,
            case when recoveries.per_branch then recoveries.branch else '' end as branch,
            date_trunc('hour', recoveries.recovered_at at time zone 'UTC') at time zone 'UTC'
                as hour_start,
            count(*) as recoveries,
            sum(recoveries.time_to_green_us) as time_to_green_us
        from recoveries
        where recoveries.pipeline_id = p_pipeline_id
        group by 1, 2, 3
    ) as hours
    window upto as (
        partition by per_branch, branch order by hour_start
        rows between unbounded preceding and current row
    );
$$;

create or replace function recoveries_keep_rollups()
returns trigger
language plpgsql
as $$
begin
    if current_setting('pulse.rebuilding_rollups', true) = 'on' then
        return null;
    end if;
    if tg_op <> 'INSERT' then
        perform recovery_totals_add(old, -1);
    end if;
    if tg_op <> 'DELETE' then
        perform recovery_totals_add(new, 1);
    end if;
    return null;
end;
$$;
