-- pipeline_health_current v01: each pipeline's all-time health as of the last history refresh
-- (`as_of`; the worker refreshes every minute). Grain: pipeline.
create or replace view pipeline_health_current as
with health as (
    select
        pipelines.name as pipeline,
        health_snapshot.state,
        health_snapshot.state = 'failing' as is_failing,
        health_snapshot.failure_streak,
        health_snapshot.failing_since,
        health_snapshot.last_success_at,
        health_snapshot.last_failure_at,
        health_snapshot.mean_time_to_green_sec,
        health_snapshot.as_of
    from health_snapshot
    join pipelines on pipelines.id = health_snapshot.pipeline_id
)

select * from health;
