-- hour_totals_rebuild: recompute one pipeline's running totals, per branch
-- (branch_hour_totals) and across branches (pipeline_hour_totals), from its runs in one pass:
-- a row at the hour after each hour with runs, holding the totals of all before it.
-- v02: one statement, the per-hour figures a materialized CTE both inserts read, instead of
-- a temporary table created and dropped per call (catalog rows written and removed for every
-- pipeline a `pulse import` rebuilds). The same rows.
create or replace function hour_totals_rebuild(p_pipeline_id integer)
returns void
language plpgsql
as $$
begin
    delete from branch_hour_totals where pipeline_id = p_pipeline_id;
    delete from pipeline_hour_totals where pipeline_id = p_pipeline_id;

    -- Each branch's hours (hour_figures), summed into the pipeline's below.
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
    ),

    hour_figures as materialized (
        select counts.*, hists.duration_hist
        from counts
        left join hists using (branch, hour_start)
    ),

    branch_rows as (
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
        )
    )

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
end;
$$;
