-- import_problems: every line of `pulse import`'s staged batch (run_imports) that the database
-- refuses, in line order: the field and message ingest_run would answer with (PP422 from
-- run_timing, PP409 for a run of another pipeline). Called after import_runs failed, in a
-- transaction the caller rolls back: a line naming a run goes through ingest_run (so a repeat
-- is judged against the lines before it), each in a subtransaction of its own; a new run only
-- needs run_timing. Grain: one row per refused line.
create or replace function import_problems()
returns table (line bigint, field text, message text)
language plpgsql
as $$
declare
    event record;
begin
    perform set_config('pulse.importing', 'on', true);
    for event in select * from run_imports order by run_imports.line loop
        begin
            if event.external_id is null then
                perform run_timing(
                    event.status::run_status, event.started_at, event.finished_at, event.duration_sec, now()
                );
            else
                perform ingest_run(
                    event.pipeline, event.status::run_status, event.started_at, event.finished_at,
                    event.duration_sec, event.branch, event.commit, event.triggered_by,
                    event.source, event.external_id, event.url, event.attempt, event.conclusion
                );
            end if;
        exception when sqlstate 'PP422' or sqlstate 'PP409' then
            get stacked diagnostics field = column_name, message = message_text;
            line := event.line;
            field := coalesce(nullif(field, ''), 'line');
            return next;
        end;
    end loop;
end;
$$;
