-- ingest_run: POST /api/events/run and GitHub's workflow_run deliveries, one statement each.
-- Applies the contract's identity and transition rules for (source, external_id) and returns
-- the stored run. A clash of pipelines raises SQLSTATE PP409; bad timing raises PP422
-- (run_timing). Either aborts the caller's transaction, so a rejected event writes nothing.
-- One writer per pipeline at a time: the pipeline is resolved and its advisory lock taken
-- before any run row is locked, so the triggers (which lock totals rows and read neighbouring
-- runs) always lock in one order and concurrent ingest cannot deadlock. A pipeline removed
-- (delete_pipeline) while the event waited for its lock is started afresh. A run's attempt (a
-- re-run of the same CI run) and the CI's own conclusion are kept as sent; a later event that
-- leaves them out keeps the stored ones.
create or replace function ingest_run(
    p_pipeline text,
    p_status run_status,
    p_started_at timestamptz,
    p_finished_at timestamptz,
    p_duration_sec double precision,
    p_branch text,
    p_commit text,
    p_triggered_by text,
    p_source text,
    p_external_id text,
    p_url text,
    p_attempt integer,
    p_conclusion text
)
returns runs
language plpgsql
as $$
declare
    stored runs;
    result runs;
    timing record;
    v_pipeline_id integer;
begin
    loop
        select id into v_pipeline_id from pipelines where name = p_pipeline;
        if not found then
            insert into pipelines (name) values (p_pipeline)
            on conflict (name) do nothing
            returning id into v_pipeline_id;
            if v_pipeline_id is null then
                select id into v_pipeline_id from pipelines where name = p_pipeline;
            end if;
        end if;
        perform pg_advisory_xact_lock(7461002, v_pipeline_id);
        -- Deleted while we waited for its lock: resolve the name again.
        if not exists (select from pipelines where id = v_pipeline_id) then
            continue;
        end if;

        if p_external_id is not null then
            select * into stored
            from runs
            where source = p_source and external_id = p_external_id
            for update;

            if found then
                if stored.pipeline_id <> v_pipeline_id then
                    raise exception using errcode = 'PP409', column = 'pipeline',
                        message = format(
                            'run %s/%s belongs to pipeline %s, not %s',
                            p_source, p_external_id,
                            (select name from pipelines where id = stored.pipeline_id),
                            p_pipeline
                        );
                end if;
                -- A late `running` event never reopens a finished run.
                if stored.status <> 'running' and p_status = 'running' then
                    return stored;
                end if;

                if p_status <> 'running' and stored.status <> 'running'
                    and p_finished_at is null and p_duration_sec is null then
                    -- A corrected result without timing keeps the stored timing.
                    timing := run_timing(
                        p_status, coalesce(p_started_at, stored.started_at),
                        stored.finished_at, null, now()
                    );
                else
                    timing := run_timing(
                        p_status, coalesce(p_started_at, stored.started_at),
                        p_finished_at, p_duration_sec, now()
                    );
                end if;

                -- Between two results the later one wins, whatever order they arrive in.
                if stored.status <> 'running' and timing.finished_at < stored.finished_at then
                    return stored;
                end if;

                update runs set
                    status = p_status,
                    started_at = timing.started_at,
                    finished_at = timing.finished_at,
                    duration_sec = timing.duration_sec,
                    branch = coalesce(p_branch, stored.branch),
                    commit = coalesce(p_commit, stored.commit),
                    triggered_by = coalesce(p_triggered_by, stored.triggered_by),
                    url = coalesce(p_url, stored.url),
                    attempt = coalesce(p_attempt, stored.attempt),
                    conclusion = coalesce(p_conclusion, stored.conclusion),
                    updated_at = now()
                where id = stored.id
                    and (status, started_at, finished_at, duration_sec, branch, commit,
                         triggered_by, url, attempt, conclusion)
                    is distinct from
                        (p_status, timing.started_at, timing.finished_at, timing.duration_sec,
                         coalesce(p_branch, stored.branch), coalesce(p_commit, stored.commit),
                         coalesce(p_triggered_by, stored.triggered_by),
                         coalesce(p_url, stored.url), coalesce(p_attempt, stored.attempt),
                         coalesce(p_conclusion, stored.conclusion))
                returning * into result;

                if found then
                    return result;
                end if;
                return stored;  -- an identical repeat changes nothing
            end if;
        end if;

        timing := run_timing(p_status, p_started_at, p_finished_at, p_duration_sec, now());

        insert into runs (
            pipeline_id, status, started_at, finished_at, duration_sec,
            branch, commit, triggered_by, source, external_id, url, attempt, conclusion
        )
        values (
            v_pipeline_id, p_status, timing.started_at, timing.finished_at, timing.duration_sec,
            coalesce(p_branch, ''), coalesce(p_commit, ''), coalesce(p_triggered_by, ''),
            p_source, p_external_id, p_url, p_attempt, p_conclusion
        )
        on conflict (source, external_id) do nothing
        returning * into result;

        if found then
            return result;
        end if;
        -- A concurrent event created the same run first: apply ours to it on the next pass.
    end loop;
end;
$$;
