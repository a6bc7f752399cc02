-- summary_edge_pipelines: what the window edges of every live subscription passed in one tick.
-- A run is in a window at t when t - W < started_at <= t, so between two times s < t the runs of
-- (s - W, t - W] left it and those of (s, t] joined it (a run may start up to 5 minutes ahead
-- of the clock); time to green is windowed the same way by recovered_at. The live hub passes
-- each distinct span (p_after[i], p_upto[i]] once for all its subscriptions and keeps, for
-- each, the rows of its spans that its filters select (analytics/incremental.py): a run's
-- pipeline gets its line recomputed (run_summary_lines), a recovery's only its health
-- (pipeline_health), as nothing else of a line depends on recoveries.
-- - Grain: one row per (span_no, pipeline_id, branch, is_recovery, per_branch) crossed; span_no
--   is the 1-based position in the arrays. per_branch is null for runs.
-- - One index range scan on runs.started_at and one on recoveries.recovered_at per span, each
--   as long as the time since the last tick.
create or replace function summary_edge_pipelines(
    p_after timestamptz[],
    p_upto timestamptz[]
)
returns table (
    span_no integer,
    pipeline_id integer,
    pipeline text,
    branch text,
    is_recovery boolean,
    per_branch boolean
)
language sql
stable
as $$
with spans as (
    select span.span_no::integer as span_no, span.after, span.upto
    from unnest(p_after, p_upto) with ordinality as span (after, upto, span_no)
),

crossed_runs as (
    select distinct
        spans.span_no,
        runs.pipeline_id,
        runs.branch,
        false as is_recovery,
        null::boolean as per_branch
    from spans
    join runs on runs.started_at > spans.after and runs.started_at <= spans.upto
),

crossed_recoveries as (
    select distinct
        spans.span_no,
        recoveries.pipeline_id,
        recoveries.branch,
        true as is_recovery,
        recoveries.per_branch
    from spans
    join recoveries
        on recoveries.recovered_at > spans.after and recoveries.recovered_at <= spans.upto
),

crossed as (
    select * from crossed_runs
    union all
    select * from crossed_recoveries
),

final as (
    select
        crossed.span_no,
        crossed.pipeline_id,
        pipelines.name as pipeline,
        crossed.branch,
        crossed.is_recovery,
        crossed.per_branch
    from crossed
    join pipelines on pipelines.id = crossed.pipeline_id
)

select * from final
$$;
