-- delete_run: DELETE /api/runs/{id}: removes one run (the triggers update the totals) after
-- taking its pipeline's advisory lock, as ingest_run does, so the two lock in one order. The
-- run removed, or no row when there is none with that id.
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
