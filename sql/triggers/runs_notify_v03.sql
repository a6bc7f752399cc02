-- runs_notify: announces every committed change of a run on the channel `pulse_runs` with the
-- run's id as payload. NOTIFY is transactional: listeners hear it only after the commit (never
-- for a rolled-back write), and a transaction's repeats of one id arrive once. Each API process
-- LISTENs on one connection and coalesces what it hears (ingest_api/live).
-- v02: not while `pulse.importing` is on in the transaction: `pulse import` (import_runs)
-- writes the runs set-based and then the rollups, history marks, alert states and one NOTIFY
-- for the whole batch. A WHEN condition rather than a test in the function: a skipped row
-- queues no trigger event and calls no PL/pgSQL at all.
-- v03: the payload is `<run id>:<pipeline id>`, so a listener knows which pipeline's figures
-- a change touched without reading the run, even when the run is deleted.
create or replace function runs_notify()
returns trigger
language plpgsql
as $$
begin
    if tg_op = 'DELETE' then
        perform pg_notify('pulse_runs', old.id || ':' || old.pipeline_id);
    else
        perform pg_notify('pulse_runs', new.id || ':' || new.pipeline_id);
    end if;
    return null;
end;
$$;

create or replace trigger runs_notify
after insert or update or delete on runs
for each row
when (current_setting('pulse.importing', true) is distinct from 'on')
execute function runs_notify();
