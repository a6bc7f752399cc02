-- recovery_totals_add: add (p_sign 1) or take away (-1) one recovery in recovery_totals, the
-- running totals of a scope's recoveries (the pipeline: per_branch false, branch ''; or one
-- branch) with recovered_at before each hour_start. The first recovery of an hour opens the
-- next hour's row; it then counts in every row from there on, so time to green over any
-- window is two rows per scope (pipeline_health). Called by recoveries_keep_totals under the
-- pipeline's advisory lock.
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
