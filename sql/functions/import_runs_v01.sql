-- import_runs: `pulse import`'s writes. Grain: one row of the temporary table run_imports per
-- line of the file (its `line` number, the fields of POST /api/events/run, validated by the
-- API's schema; the status as text, for a binary COPY); the caller made it and filled it with
-- COPY in this transaction.
-- Each line is taken as ingest_run would take it, in line order: a line without external_id,
-- or whose (source, external_id) occurs once in the file and is not stored, is a new run,
-- inserted set-based with its timing from run_timing; the others (repeats in the file, runs
-- already stored) go through ingest_run one by one, so the identity and transition rules
-- are the same code. Bad timing raises PP422, a key of another pipeline PP409 (the caller
-- then asks import_problems for every bad line). The row triggers are skipped
-- (`pulse.importing`): the touched pipelines are locked first, in id order (their writers
-- wait, every other pipeline's go on), and import_runs_finish does once what the triggers
-- do per row. Returns the pipelines touched (ids, in lock order), the runs added, the lines
-- applied to a stored run (repeats), and the last alert id before the import.
create or replace function import_runs(
    out pipeline_ids integer[],
    out inserted bigint,
    out repeats bigint,
    out last_alert_id bigint
)
language plpgsql
as $$
declare
    v_id integer;
    v_new_keys bigint;
    event record;
begin
    perform set_config('pulse.importing', 'on', true);
    -- The batch's hash joins and sorts in memory (the default 4 MB spilled a 1M-line batch).
    perform set_config('work_mem', '256MB', true);

    insert into pipelines (name)
    select distinct staged.pipeline from run_imports as staged
    where not exists (select from pipelines where pipelines.name = staged.pipeline)
    order by 1
    on conflict (name) do nothing;
    select array_agg(pipelines.id order by pipelines.id) into pipeline_ids
    from pipelines
    where pipelines.name in (select distinct staged.pipeline from run_imports as staged);
    foreach v_id in array coalesce(pipeline_ids, '{}') loop
        perform pg_advisory_xact_lock(7461002, v_id);
    end loop;
    -- Removed (delete_pipeline) while we waited for its lock: nothing is written; try again.
    if (select count(*) from pipelines where id = any(pipeline_ids))
        < coalesce(cardinality(pipeline_ids), 0) then
        raise exception using errcode = '40001',
            message = 'a pipeline of the import was removed meanwhile; run the import again';
    end if;
    select coalesce(max(alerts.id), 0) into last_alert_id from alerts;

    -- Lines that name a run more than once, or a run already stored: ingest_run's rules.
    create temporary table run_import_repeats on commit drop as
    with keys as (
        select staged.source, staged.external_id
        from run_imports as staged
        where staged.external_id is not null
        group by staged.source, staged.external_id
        having count(*) > 1
        union
        select staged.source, staged.external_id
        from run_imports as staged
        join runs
            on runs.source = staged.source and runs.external_id = staged.external_id
    )

    select staged.*
    from run_imports as staged
    join keys
        on keys.source = staged.source and keys.external_id = staged.external_id;

    -- The days the stored runs start on before the import, and the recoveries' days before
    -- the rebuild (import_runs_finish notes the days after).
    insert into history_changes (pipeline_id, day)
    select distinct runs.pipeline_id, (runs.started_at at time zone 'UTC')::date
    from runs
    join run_import_repeats as repeat
        on runs.source = repeat.source and runs.external_id = repeat.external_id
    union
    select distinct recoveries.pipeline_id, (recoveries.recovered_at at time zone 'UTC')::date
    from recoveries
    where recoveries.pipeline_id = any(pipeline_ids)
    on conflict (pipeline_id, day) do update set day = excluded.day where false;

    with added as (
        insert into runs (
            pipeline_id, status, started_at, finished_at, duration_sec,
            branch, commit, triggered_by, source, external_id, url, attempt, conclusion
        )
        select
            pipelines.id, staged.status::run_status, timing.started_at, timing.finished_at,
            timing.duration_sec, coalesce(staged.branch, ''), coalesce(staged.commit, ''),
            coalesce(staged.triggered_by, ''), staged.source, staged.external_id, staged.url,
            staged.attempt, staged.conclusion
        from run_imports as staged
        join pipelines on pipelines.name = staged.pipeline
        cross join lateral run_timing(
            staged.status::run_status, staged.started_at, staged.finished_at, staged.duration_sec, now()
        ) as timing
        where staged.external_id is null
            or not exists (
                select from run_import_repeats as repeat where repeat.line = staged.line
            )
        order by staged.line
        returning runs.pipeline_id, runs.started_at
    ),

    marked as (
        insert into history_changes (pipeline_id, day)
        select distinct added.pipeline_id, (added.started_at at time zone 'UTC')::date
        from added
        on conflict (pipeline_id, day) do update set day = excluded.day where false
    )

    select count(*) into inserted from added;

    select count(*) into v_new_keys
    from (select distinct source, external_id from run_import_repeats) as keys
    where not exists (
        select from runs
        where runs.source = keys.source and runs.external_id = keys.external_id
    );
    for event in select * from run_import_repeats order by line loop
        perform ingest_run(
            event.pipeline, event.status::run_status, event.started_at, event.finished_at,
            event.duration_sec, event.branch, event.commit, event.triggered_by, event.source,
            event.external_id, event.url, event.attempt, event.conclusion
        );
    end loop;
    inserted := inserted + v_new_keys;
    select count(*) - v_new_keys into repeats from run_import_repeats;

    insert into history_changes (pipeline_id, day)
    select distinct runs.pipeline_id, (runs.started_at at time zone 'UTC')::date
    from runs
    join run_import_repeats as repeat
        on runs.source = repeat.source and runs.external_id = repeat.external_id
    on conflict (pipeline_id, day) do update set day = excluded.day where false;
end;
$$;
