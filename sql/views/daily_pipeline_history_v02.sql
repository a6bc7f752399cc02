-- daily_pipeline_history: per pipeline and UTC day its runs started, all branches: counts
-- per status, success rate and durations over decided runs (exact percentile_cont), and
-- recoveries (time to green) by the day they happened. Grain: (pipeline, day). Kept by
-- refresh_history (sql/functions/refresh_history_v01.sql).
-- With attempts recorded (GitHub re-runs): first_try_success_rate over attempt-1 decided runs, and
-- rerun_recoveries, successes of a re-run whose earlier attempt of the commit failed.
create or replace view daily_pipeline_history as
with history as (
    select
        pipelines.name as pipeline,
        days.day,
        days.total,
        days.success,
        days.failure,
        days.running,
        days.cancelled,
        days.skipped,
        days.success_rate,
        days.avg_duration_sec,
        days.p50_duration_sec,
        days.p95_duration_sec,
        days.recoveries,
        days.mean_time_to_green_sec,
        days.first_try_success_rate,
        days.rerun_recoveries
    from history_pipeline_days as days
    join pipelines on pipelines.id = days.pipeline_id
)

select * from history;
