-- runs_keep_totals: keeps pipeline_hour_totals, branch_hour_totals and recoveries exact in the
-- writing transaction: a change takes the old row away and adds the new one (each under its
-- pipeline's advisory lock, so rows lock in one order), and for decided runs recomputes the
-- failure episodes the change can touch (recoveries_around). Skipped while
-- `pulse.rebuilding_rollups` is on in the transaction: bulk removals (delete_runs,
-- delete_pipeline) and rebuild_rollups write the totals in one set-based pass instead.
-- v02: not while `pulse.importing` is on in the transaction: `pulse import` (import_runs)
-- writes the runs set-based and then the rollups, history marks, alert states and one NOTIFY
-- for the whole batch. A WHEN condition rather than a test in the function: a skipped row
-- queues no trigger event and calls no PL/pgSQL at all.
create or replace function runs_keep_totals()
returns trigger
language plpgsql
as $$
begin
    if current_setting('pulse.rebuilding_rollups', true) = 'on' then
        return null;
    end if;
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
        perform branch_totals_add(old, -1);
        perform pipeline_totals_add(old, -1);
        if old.status in ('success', 'failure') then
            delete from recoveries where run_id = old.id;
            perform recoveries_around(old.pipeline_id, null, old.finished_at, old.id);
            perform recoveries_around(old.pipeline_id, old.branch, old.finished_at, old.id);
        end if;
    end if;
    if tg_op <> 'DELETE' then
        perform pg_advisory_xact_lock(7461002, new.pipeline_id);
        perform branch_totals_add(new, 1);
        perform pipeline_totals_add(new, 1);
        if new.status in ('success', 'failure') then
            perform recoveries_around(new.pipeline_id, null, new.finished_at, new.id);
            perform recoveries_around(new.pipeline_id, new.branch, new.finished_at, new.id);
        end if;
    end if;
    return null;
end;
$$;

create or replace trigger runs_keep_totals
after insert or update or delete on runs
for each row
when (current_setting('pulse.importing', true) is distinct from 'on')
execute function runs_keep_totals();
