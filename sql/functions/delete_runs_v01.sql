-- Removing runs: one by id (DELETE /api/runs/{id}), many by filter (`pulse runs delete`), or a
-- whole pipeline (DELETE /api/pipelines/{name}). Each takes the pipeline's advisory lock first,
-- as ingest_run does, so a removal and an ingest of the same pipeline take turns and lock rows
-- in one order. The rollups, recoveries and the daily history follow: one run through the
-- triggers; many runs with the rollup triggers set aside (pulse.rebuilding_rollups) and the
-- pipeline's rollups rebuilt in one pass after. Every removed run is announced on pulse_runs,
-- so live dashboards drop it.

-- The run removed, or no row when there is none with that id.
create or replace function delete_run(p_id bigint)
returns setof runs
language plpgsql
as $$
declare
    v_pipeline_id integer;
begin
    select pipeline_id into v_pipeline_id from runs where id = p_id;
    if not found then
        return;
    end if;
    perform pg_advisory_xact_lock(7461002, v_pipeline_id);
    return query delete from runs where id = p_id returning *;
end;
$$;

-- Runs of each pipeline matching every filter given (null: any): the pipeline, how many
-- matched, and (unless p_dry_run) removed them.
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

-- Removes a pipeline with its runs and everything derived from them; the number of runs it
-- had, or null when there is no such pipeline.
create or replace function delete_pipeline(p_name text)
returns bigint
language plpgsql
as $$
declare
    v_id integer;
    v_runs bigint;
begin
    select id into v_id from pipelines where name = p_name;
    if not found then
        return null;
    end if;
    perform pg_advisory_xact_lock(7461002, v_id);
    perform set_config('pulse.rebuilding_rollups', 'on', true);
    delete from runs where pipeline_id = v_id;  -- its recoveries go with them (cascade)
    get diagnostics v_runs = row_count;
    perform set_config('pulse.rebuilding_rollups', 'off', true);
    delete from recovery_totals where pipeline_id = v_id;
    delete from branch_hour_totals where pipeline_id = v_id;
    delete from pipeline_hour_totals where pipeline_id = v_id;
    delete from history_branch_days where pipeline_id = v_id;
    delete from history_pipeline_days where pipeline_id = v_id;
    delete from history_changes where pipeline_id = v_id;
    delete from health_snapshot where pipeline_id = v_id;
    delete from pipelines where id = v_id;
    return v_runs;
end;
$$;
