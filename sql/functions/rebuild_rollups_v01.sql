-- rebuild_rollups: recompute one pipeline's running hour totals (across branches and per
-- branch), recoveries and recovery totals from its runs, set-based (after a bulk load with
-- the triggers off, a bulk removal, or to repair). It holds the pipeline's advisory lock, so
-- that pipeline's writers wait for it while every other pipeline's go on.
create or replace function rebuild_rollups(p_pipeline_id integer)
returns void
language plpgsql
as $$
begin
    perform pg_advisory_xact_lock(7461002, p_pipeline_id);
    -- The rows below are written whole; the recoveries trigger must not add them up again.
    perform set_config('pulse.rebuilding_rollups', 'on', true);

    perform hour_totals_rebuild(p_pipeline_id);

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
