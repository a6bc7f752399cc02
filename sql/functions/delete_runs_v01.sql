-- delete_runs: `pulse runs delete`: per pipeline, the runs matching every filter given (null:
-- any), how many matched, and (unless p_dry_run) removes them with the totals triggers set
-- aside, then rebuilds that pipeline's rollups once (rebuild_rollups) under its lock.
create or replace function delete_runs(
    p_pipeline text default null,
    p_source text default null,
    p_before timestamptz default null,
    p_dry_run boolean default false
)
returns table (pipeline text, matched bigint)
language plpgsql
as $$
declare
    target record;
    v_count bigint;
begin
    for target in
        select pipelines.id, pipelines.name from pipelines
        where p_pipeline is null or pipelines.name = p_pipeline
        order by pipelines.name
    loop
        if not p_dry_run then
            perform pg_advisory_xact_lock(7461002, target.id);
        end if;
        select count(*) into v_count
        from runs
        where runs.pipeline_id = target.id
            and (p_source is null or runs.source = p_source)
            and (p_before is null or runs.started_at < p_before);
        if v_count = 0 then
            continue;
        end if;
        if not p_dry_run then
            perform set_config('pulse.rebuilding_rollups', 'on', true);
            delete from runs
            where runs.pipeline_id = target.id
                and (p_source is null or runs.source = p_source)
                and (p_before is null or runs.started_at < p_before);
            perform set_config('pulse.rebuilding_rollups', 'off', true);
            perform rebuild_rollups(target.id);
        end if;
        pipeline := target.name;
        matched := v_count;
        return next;
    end loop;
end;
$$;
