-- rebuild_rollups v03: v02 with pipeline_hour_totals in place of pipeline_hour_rollups and
-- pipeline_day_totals. Recomputes one pipeline's rollups, running hour totals, recoveries and
-- recovery totals from runs, set-based (after a bulk load with the triggers off, or to
-- repair). It holds the pipeline's advisory lock exclusively, so that pipeline's writers wait
-- for it while every other pipeline's go on.

create or replace function rebuild_rollups(p_pipeline_id integer)
returns void
language plpgsql
as $$
begin
    perform pg_advisory_xact_lock(7461002, p_pipeline_id);
    -- The rows below are written whole; the recoveries trigger must not add them up again.
    perform set_config('pulse.rebuilding_rollups', 'on', true);

    delete from run_rollups where pipeline_id = p_pipeline_id;
    insert into run_rollups (
        grain, pipeline_id, branch, bucket_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    with keyed as (
        select
            grains.grain,
            runs.branch,
            date_trunc(grains.grain, runs.started_at at time zone 'UTC') at time zone 'UTC'
                as bucket_start,
            runs.status,
            case when runs.status in ('success', 'failure')
                then round(runs.duration_sec * 1000)::bigint end as decided_ms
        from runs
        cross join (values ('hour'), ('day'), ('month')) as grains (grain)
        where runs.pipeline_id = p_pipeline_id
    ),

    counts as (
        select
            grain,
            branch,
            bucket_start,
            count(*) filter (where status = 'running') as running,
            count(*) filter (where status = 'success') as success,
            count(*) filter (where status = 'failure') as failure,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'skipped') as skipped,
            coalesce(sum(decided_ms), 0) as decided_duration_ms
        from keyed
        group by grain, branch, bucket_start
    ),

    bin_counts as (
        select grain, branch, bucket_start, duration_bin(decided_ms) as bin, count(*) as n
        from keyed
        where decided_ms is not null
        group by grain, branch, bucket_start, duration_bin(decided_ms)
    ),

    hists as (
        select grain, branch, bucket_start, hist_agg(bin, n order by bin) as duration_hist
        from bin_counts
        group by grain, branch, bucket_start
    )

    select
        counts.grain, p_pipeline_id, counts.branch, counts.bucket_start,
        counts.running, counts.success, counts.failure, counts.cancelled, counts.skipped,
        counts.decided_duration_ms, hists.duration_hist
    from counts
    left join hists using (grain, branch, bucket_start);

    perform pipeline_hour_totals_rebuild(p_pipeline_id);

    delete from recoveries where pipeline_id = p_pipeline_id;
    insert into recoveries (
        run_id, per_branch, pipeline_id, branch, recovered_at, time_to_green_us
    )
    with decided as (
        select runs.id, runs.branch, runs.status, runs.finished_at, scopes.per_branch,
            case when scopes.per_branch then runs.branch end as scope_branch
        from runs
        cross join (values (false), (true)) as scopes (per_branch)
        where runs.pipeline_id = p_pipeline_id and runs.status in ('success', 'failure')
    ),

    -- Failures that share successes_so_far form one episode; the next success ends it.
    ordered as (
        select
            decided.*,
            count(*) filter (where status = 'success') over (
                partition by per_branch, scope_branch order by finished_at, id
            ) as successes_so_far
        from decided
    ),

    episodes as (
        select per_branch, scope_branch, successes_so_far as episode,
            min(finished_at) as first_failure_at
        from ordered
        where status = 'failure'
        group by per_branch, scope_branch, successes_so_far
    )

    select
        ordered.id, ordered.per_branch, p_pipeline_id, ordered.branch, ordered.finished_at,
        round(extract(epoch from ordered.finished_at - episodes.first_failure_at) * 1000000)::bigint
    from ordered
    join episodes
        on episodes.per_branch = ordered.per_branch
        and episodes.scope_branch is not distinct from ordered.scope_branch
        and episodes.episode = ordered.successes_so_far - 1
    where ordered.status = 'success';

    perform recovery_totals_rebuild(p_pipeline_id);

    perform set_config('pulse.rebuilding_rollups', 'off', true);
end;
$$;
