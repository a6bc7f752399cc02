-- recovery_totals_rebuild: recompute one pipeline's recovery_totals from its recoveries: a
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
