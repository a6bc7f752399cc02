-- alert_decide: the state of one (pipeline, branch) from its decided runs (those of source
-- `simulator` only when p_config.simulated), compared with alert_states: writes the alert a
-- change of state (or a new failure, p_new_failure) calls for, with the facts a mail needs,
-- and announces it on `pulse_alerts`. Called by runs_decide_alerts under the pipeline's lock.
-- Fast path: a run that has just become decided (p_decided) and is newer than the latest one
-- alert_states knows cannot but set the state to its own result; when that is the state
-- already (nearly every run), no run is read at all.
create or replace function alert_decide(
    p_pipeline_id integer,
    p_branch text,
    p_new_failure boolean,
    p_config alert_settings,
    p_decided runs default null
)
returns void
language plpgsql
as $$
declare
    last_success runs;
    last_failure runs;
    first_failure runs;
    latest runs;
    stored alert_states;
    now_state text;
    streak integer := 0;
    kind text;
    alert_id bigint;
    thread bigint;
begin
    perform pg_advisory_xact_lock(7461002, p_pipeline_id);
    if p_decided.id is not null then
        select * into stored from alert_states
        where pipeline_id = p_pipeline_id and branch = p_branch
        for update;
        if stored.latest_run_id is not null
            and (p_decided.finished_at, p_decided.id)
                > (stored.latest_finished_at, stored.latest_run_id)
            and stored.state = (case p_decided.status
                when 'failure' then 'failing' else 'passing' end) then
            if stored.state = 'failing' and p_new_failure then
                if p_config.policy = 'every' then
                    kind := 'failure';
                elsif p_config.reminder_min > 0
                    and stored.last_alert_at
                        <= now() - make_interval(mins => p_config.reminder_min) then
                    kind := 'reminder';
                end if;
            end if;
            if kind is not null then
                insert into alerts (kind, pipeline_id, branch, run_id, thread_id, facts)
                values (
                    kind, p_pipeline_id, p_branch, p_decided.id, stored.thread_id,
                    jsonb_build_object(
                        'pipeline', (select name from pipelines where id = p_pipeline_id),
                        'branch', p_branch,
                        'run', jsonb_build_object(
                            'id', p_decided.id,
                            'status', p_decided.status,
                            'conclusion', p_decided.conclusion,
                            'commit', p_decided.commit,
                            'url', p_decided.url,
                            'triggered_by', p_decided.triggered_by,
                            'duration_sec', p_decided.duration_sec,
                            'started_at', p_decided.started_at,
                            'finished_at', p_decided.finished_at
                        ),
                        'failing_since', stored.failing_since,
                        'failure_streak', stored.failures + 1,
                        'red_for_sec', null,
                        'last_green_commit', stored.last_green_commit
                    )
                )
                returning id into alert_id;
                perform pg_notify('pulse_alerts', alert_id::text);
            end if;
            update alert_states set
                failures = case when state = 'failing' then failures + 1 else 0 end,
                last_green_commit = case when state = 'passing'
                    then p_decided.commit else last_green_commit end,
                latest_finished_at = p_decided.finished_at,
                latest_run_id = p_decided.id,
                last_alert_at = case when kind is not null then now() else last_alert_at end,
                updated_at = now()
            where pipeline_id = p_pipeline_id and branch = p_branch;
            return;
        end if;
    end if;
    -- One index probe each, walking past simulated runs only when they do not count.
    select * into last_success from runs
    where pipeline_id = p_pipeline_id and branch = p_branch and status = 'success'
        and status in ('success', 'failure')
        and (p_config.simulated or source <> 'simulator')
    order by finished_at desc, id desc
    limit 1;
    select * into last_failure from runs
    where pipeline_id = p_pipeline_id and branch = p_branch and status = 'failure'
        and status in ('success', 'failure')
        and (p_config.simulated or source <> 'simulator')
    order by finished_at desc, id desc
    limit 1;

    if last_failure.id is not null and (last_success.id is null
        or (last_failure.finished_at, last_failure.id) > (last_success.finished_at, last_success.id)) then
        now_state := 'failing';
        latest := last_failure;
        select * into first_failure from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = 'failure'
            and status in ('success', 'failure')
            and (p_config.simulated or source <> 'simulator')
            and (finished_at, id) > (coalesce(last_success.finished_at, '-infinity'),
                                     coalesce(last_success.id, 0))
        order by finished_at, id
        limit 1;
        select count(*) into streak from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = 'failure'
            and (p_config.simulated or source <> 'simulator')
            and (finished_at, id) >= (first_failure.finished_at, first_failure.id);
    elsif last_success.id is not null then
        now_state := 'passing';
        latest := last_success;
    else
        now_state := null;
    end if;

    select * into stored from alert_states
    where pipeline_id = p_pipeline_id and branch = p_branch
    for update;

    if now_state = 'failing' and coalesce(stored.state, 'passing') = 'passing' then
        kind := 'failing';
    elsif now_state = 'failing' and p_new_failure and latest.status = 'failure' then
        if p_config.policy = 'every' then
            kind := 'failure';
        elsif p_config.reminder_min > 0
            and stored.last_alert_at <= now() - make_interval(mins => p_config.reminder_min) then
            kind := 'reminder';
        end if;
    elsif stored.state = 'failing' and coalesce(now_state, 'passing') = 'passing' then
        kind := 'recovered';
    end if;

    if kind is not null then
        thread := case when kind = 'failing' then null else stored.thread_id end;
        insert into alerts (kind, pipeline_id, branch, run_id, thread_id, facts)
        values (
            kind, p_pipeline_id, p_branch, latest.id, thread,
            jsonb_build_object(
                'pipeline', (select name from pipelines where id = p_pipeline_id),
                'branch', p_branch,
                'run', case when latest.id is null then null else jsonb_build_object(
                    'id', latest.id,
                    'status', latest.status,
                    'conclusion', latest.conclusion,
                    'commit', latest.commit,
                    'url', latest.url,
                    'triggered_by', latest.triggered_by,
                    'duration_sec', latest.duration_sec,
                    'started_at', latest.started_at,
                    'finished_at', latest.finished_at
                ) end,
                'failing_since', case when kind = 'recovered' then stored.failing_since
                    else first_failure.finished_at end,
                'failure_streak', case when kind = 'recovered' then stored.failures else streak end,
                'red_for_sec', case when kind = 'recovered' and stored.failing_since is not null
                    then extract(epoch from latest.finished_at - stored.failing_since) end,
                'last_green_commit', case when kind = 'recovered' then stored.last_green_commit
                    else last_success.commit end
            )
        )
        returning id into alert_id;
        if kind = 'failing' then
            update alerts set thread_id = alert_id where id = alert_id;
            thread := alert_id;
        end if;
        perform pg_notify('pulse_alerts', alert_id::text);
    end if;

    if now_state is null then
        delete from alert_states where pipeline_id = p_pipeline_id and branch = p_branch;
        return;
    end if;
    insert into alert_states as s (
        pipeline_id, branch, state, failing_since, failures, last_green_commit, thread_id,
        last_alert_at, latest_finished_at, latest_run_id, updated_at
    )
    values (
        p_pipeline_id, p_branch, now_state,
        case when now_state = 'failing' then first_failure.finished_at end,
        streak,
        case when now_state = 'failing' then last_success.commit else latest.commit end,
        case when now_state = 'failing' then coalesce(thread, stored.thread_id) end,
        case when kind is not null then now() else stored.last_alert_at end,
        latest.finished_at,
        latest.id,
        now()
    )
    on conflict (pipeline_id, branch) do update set
        state = excluded.state,
        failing_since = excluded.failing_since,
        failures = excluded.failures,
        last_green_commit = excluded.last_green_commit,
        thread_id = excluded.thread_id,
        last_alert_at = excluded.last_alert_at,
        latest_finished_at = excluded.latest_finished_at,
        latest_run_id = excluded.latest_run_id,
        updated_at = excluded.updated_at;
end;
$$;
