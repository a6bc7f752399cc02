-- recoveries_mark_history: notes in history_changes the (pipeline, UTC day) of each recovery a
-- write adds, changes or removes, for refresh_history.
-- v02: a key already noted is locked (an upsert that updates nothing still locks the row),
-- so a refresh that takes it waits for this write to commit and then sees its run; with v01's
-- `do nothing` it could take the key, miss the uncommitted run and leave its day stale.
-- v03: not while `pulse.importing` is on in the transaction: `pulse import` (import_runs)
-- writes the runs set-based and then the rollups, history marks, alert states and one NOTIFY
-- for the whole batch. A WHEN condition rather than a test in the function: a skipped row
-- queues no trigger event and calls no PL/pgSQL at all.
create or replace function recoveries_mark_history()
returns trigger
language plpgsql
as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        insert into history_changes (pipeline_id, day)
        values (old.pipeline_id, (old.recovered_at at time zone 'UTC')::date)
        on conflict (pipeline_id, day) do update set day = excluded.day where false;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into history_changes (pipeline_id, day)
        values (new.pipeline_id, (new.recovered_at at time zone 'UTC')::date)
        on conflict (pipeline_id, day) do update set day = excluded.day where false;
    end if;
    return null;
end;
$$;

create or replace trigger recoveries_mark_history
after insert or update or delete on recoveries
for each row
when (current_setting('pulse.importing', true) is distinct from 'on')
execute function recoveries_mark_history();
