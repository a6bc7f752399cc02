-- runs_staged: one row per run, ready to use: the pipeline by name, status flags, the UTC
-- day it started, its duration, and for CI runs that record them its attempt (a re-run is
-- attempt 2) and the CI's own conclusion (GitHub's `timed_out`, `startup_failure`...).
-- Grain: run_id.
create or replace view runs_staged as
with staged as (
    select
        runs.id as run_id,
        pipelines.name as pipeline,
        runs.branch,
        runs.status::text as status,
        runs.status in ('success', 'failure') as is_decided,
        runs.status = 'success' as is_success,
        runs.started_at,
        runs.finished_at,
        (runs.started_at at time zone 'UTC')::date as started_day,
        runs.duration_sec,
        runs.commit as commit_sha,
        runs.triggered_by,
        runs.source,
        runs.external_id,
        runs.url,
        runs.created_at,
        runs.updated_at,
        runs.attempt,
        runs.conclusion
    from runs
    join pipelines on pipelines.id = runs.pipeline_id
)

select * from staged;
