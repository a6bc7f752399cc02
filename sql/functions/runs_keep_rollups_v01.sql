-- runs_keep_rollups v01, as rollups_v01.sql defines it (which migration 0007's downgrade restores
-- on its own: the rest of that file names tables migration 0006 dropped).
create or replace function runs_keep_rollups()
returns trigger
language plpgsql
as $$
begin
    if tg_op = 'UPDATE'
        and (old.pipeline_id, old.branch, old.status, old.started_at, old.finished_at,
             old.duration_sec)
            is not distinct from
            (new.pipeline_id, new.branch, new.status, new.started_at, new.finished_at,
             new.duration_sec) then
        return null;
    end if;

    if tg_op <> 'INSERT' then
        perform pg_advisory_xact_lock(7461002, old.pipeline_id);
        perform rollup_add(old, -1);
        perform pipeline_rollup_add(old, -1);
        if old.status in ('success', 'failure') then
            delete from recoveries where run_id = old.id;
            perform recoveries_around(old.pipeline_id, null, old.finished_at, old.id);
            perform recoveries_around(old.pipeline_id, old.branch, old.finished_at, old.id);
        end if;
    end if;
    if tg_op <> 'DELETE' then
        perform pg_advisory_xact_lock(7461002, new.pipeline_id);
        perform rollup_add(new, 1);
        perform pipeline_rollup_add(new, 1);
        if new.status in ('success', 'failure') then
            perform recoveries_around(new.pipeline_id, null, new.finished_at, new.id);
            perform recoveries_around(new.pipeline_id, new.branch, new.finished_at, new.id);
        end if;
    end if;
    return null;
end;
$$;
