-- delete_pipeline: DELETE /api/pipelines/{name}: removes a pipeline with its runs and
-- everything derived from them, under its lock; the number of runs it had, or null when there
-- is no such pipeline.
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
