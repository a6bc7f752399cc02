-- runs_decide_alerts: decides alerts in the writing transaction. When a change of a decided run
-- moves its pipeline's state on an alerting branch (alert_settings.branches; null: every
-- branch), an alert row is written and announced on `pulse_alerts` (pulse worker delivers it):
-- passing (or new) → failing: 'failing'; failing → passing: 'recovered'; a further failure
-- while failing: 'reminder' when the last mail of the episode is reminder_min old (policy
-- 'transitions'), or 'failure' for every one (policy 'every'). The state is that of health:
-- the latest decided run by finished_at, so late events and corrections count where they
-- belong and a correction that leaves the state as it was alerts nothing. Runs of source
-- `simulator` neither alert nor count, unless alert_settings.simulated. alert_states keeps
-- each (pipeline, branch)'s state and the thread (the episode's 'failing' alert) mails join.
-- v02: not while `pulse.importing` is on in the transaction: `pulse import` (import_runs)
-- writes the runs set-based and then the rollups, history marks, alert states and one NOTIFY
-- for the whole batch. A WHEN condition rather than a test in the function: a skipped row
-- queues no trigger event and calls no PL/pgSQL at all.
create or replace function runs_decide_alerts()
returns trigger
language plpgsql
as $$
declare
    config alert_settings;
    new_failure boolean := false;
    scope record;
begin
    if tg_op = 'UPDATE'
        and (old.pipeline_id, old.branch, old.status, old.finished_at, old.source)
            is not distinct from
            (new.pipeline_id, new.branch, new.status, new.finished_at, new.source) then
        return null;
    end if;
    select * into config from alert_settings;
    -- Simulated runs neither alert nor count: a change among them alone decides nothing.
    if not config.simulated
        and (tg_op = 'DELETE' or new.source = 'simulator')
        and (tg_op = 'INSERT' or old.source = 'simulator') then
        return null;
    end if;
    if tg_op <> 'DELETE' then
        new_failure := new.status = 'failure'
            and (tg_op = 'INSERT' or old.status is distinct from 'failure')
            and (config.simulated or new.source <> 'simulator');
    end if;
    -- Every (pipeline, branch) the change touched: a moved run re-decides both branches.
    for scope in
        select distinct pipeline_id, branch, status from (
            select old.pipeline_id, old.branch, old.status where tg_op <> 'INSERT'
            union all
            select new.pipeline_id, new.branch, new.status where tg_op <> 'DELETE'
        ) as touched
    loop
        if config.branches is null or scope.branch = any(config.branches) then
            perform alert_decide(
                scope.pipeline_id, scope.branch,
                case when tg_op <> 'DELETE' and scope.branch = new.branch
                    and scope.pipeline_id = new.pipeline_id then new_failure else false end,
                config,
                -- A run that has just become decided where it stands may take the fast path.
                case when tg_op <> 'DELETE' and scope.branch = new.branch
                    and scope.pipeline_id = new.pipeline_id
                    and new.status in ('success', 'failure')
                    and (tg_op = 'INSERT' or (old.status not in ('success', 'failure')
                        and (old.pipeline_id, old.branch) = (new.pipeline_id, new.branch)))
                    and (config.simulated or new.source <> 'simulator')
                    then new end
            );
        end if;
    end loop;
    return null;
end;
$$;

create or replace trigger runs_decide_alerts
after insert or update or delete on runs
for each row
when (current_setting('pulse.importing', true) is distinct from 'on')
execute function runs_decide_alerts();
