-- import_runs_finish: what the row triggers would have done for `pulse import`'s batch, once,
-- after import_runs and rebuild_rollups of each pipeline it touched (still under their locks):
-- the days of the rebuilt recoveries noted in history_changes for the worker; the alert state
-- of each touched (pipeline, alerting branch) brought up to date by alert_decide, with any
-- alert that decides recorded as `skipped` (history is not news: an import mails no one);
-- and one NOTIFY on `pulse_runs` ("*": every live subscription recomputes its figures).
-- v02: notifies "*" rather than the id of the batch's latest run, which told the live hub of
-- one pipeline only.
create or replace function import_runs_finish(p_pipeline_ids integer[], p_last_alert_id bigint)
returns void
language plpgsql
as $$
declare
    config alert_settings;
    scope record;
begin
    insert into history_changes (pipeline_id, day)
    select distinct recoveries.pipeline_id, (recoveries.recovered_at at time zone 'UTC')::date
    from recoveries
    where recoveries.pipeline_id = any(p_pipeline_ids)
    on conflict (pipeline_id, day) do update set day = excluded.day where false;

    select * into config from alert_settings;
    for scope in
        with touched as (
            select pipelines.id as pipeline_id, coalesce(staged.branch, '') as branch
            from run_imports as staged
            join pipelines on pipelines.name = staged.pipeline
            union
            select runs.pipeline_id, runs.branch
            from run_import_repeats as repeat
            join runs
                on runs.source = repeat.source and runs.external_id = repeat.external_id
            union
            select alert_states.pipeline_id, alert_states.branch
            from alert_states
            where alert_states.pipeline_id = any(p_pipeline_ids)
        )

        select * from touched
        where config.branches is null or touched.branch = any(config.branches)
        order by pipeline_id, branch
    loop
        perform alert_decide(scope.pipeline_id, scope.branch, false, config);
    end loop;
    update alerts set
        state = 'skipped',
        last_error = 'not sent: decided by a bulk import (pulse import)'
    where alerts.pipeline_id = any(p_pipeline_ids)
        and alerts.id > p_last_alert_id
        and alerts.state = 'pending';

    -- Not a notification per run: "*" has every live subscription recomputed whole.
    perform pg_notify('pulse_runs', '*');
end;
$$;
