-- runs_notify: announces every committed change of a run on the channel `pulse_runs` with the
-- run's id as payload. NOTIFY is transactional: listeners hear it only after the commit (never
-- for a rolled-back write), and a transaction's repeats of one id arrive once. Each API process
-- LISTENs on one connection and coalesces what it hears (ingest_api/live).
create or replace function runs_notify()
returns trigger
language plpgsql
as $$
begin
    perform pg_notify('pulse_runs', (case when tg_op = 'DELETE' then old.id else new.id end)::text);
    return null;
end;
$$;

create or replace trigger runs_notify
after insert or update or delete on runs
for each row execute function runs_notify();
