-- pipeline_list: GET /api/pipelines: every pipeline by name, with its branches (most recent
-- first), its run count and its latest run, from the branches' running totals (counts) and index
-- probes (the branches, each branch's latest run, the pipeline's last run), never a scan of runs;
-- and its page in its CI (a GitHub workflow's, set by the webhook).
create or replace function pipeline_list()
returns table (
    id integer,
    name text,
    branches text[],
    total_runs bigint,
    last_run_at timestamptz,
    url text
)
language sql
stable
as $$
    with recursive branch_keys as (
        -- The distinct branches of each pipeline, one index probe each (a loose index scan).
        select first.pipeline_id, first.branch
        from pipelines
        cross join lateral (
            select pipeline_id, branch
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = pipelines.id
            order by branch
            limit 1
        ) as first
        union all
        select next.pipeline_id, next.branch
        from branch_keys
        cross join lateral (
            select pipeline_id, branch
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = branch_keys.pipeline_id
                and branch_hour_totals.branch > branch_keys.branch
            order by branch
            limit 1
        ) as next
    ),

    -- A branch's latest totals row counts all its runs.
    branches as (
        select branch_keys.*, totals.runs
        from branch_keys
        cross join lateral (
            select running + success + failure + cancelled + skipped as runs
            from branch_hour_totals
            where branch_hour_totals.pipeline_id = branch_keys.pipeline_id
                and branch_hour_totals.branch = branch_keys.branch
            order by hour_start desc
            limit 1
        ) as totals
        where totals.runs > 0
    ),

    recency as (
        select branches.*, latest.started_at as latest_run_at
        from branches
        cross join lateral (
            -- Each totals row follows an hour that had a run of the branch: the latest run is
            -- in the latest such hour that still has one (nearly always the last row's).
            select hours.started_at
            from (
                select (
                    select max(runs.started_at)
                    from runs
                    where runs.pipeline_id = branches.pipeline_id
                        and runs.branch = branches.branch
                        and runs.started_at >= totals.hour_start - interval '1 hour'
                        and runs.started_at < totals.hour_start
                ) as started_at
                from branch_hour_totals as totals
                where totals.pipeline_id = branches.pipeline_id
                    and totals.branch = branches.branch
                order by totals.hour_start desc
            ) as hours
            where hours.started_at is not null
            limit 1
        ) as latest
    ),

    final as (
        select
            pipelines.id,
            pipelines.name::text as name,
            coalesce(
                array_agg(recency.branch::text order by recency.latest_run_at desc, recency.branch)
                    filter (where recency.branch is not null),
                '{}'::text[]
            ) as branches,
            coalesce(sum(recency.runs), 0)::bigint as total_runs,
            (
                select max(runs.started_at) from runs where runs.pipeline_id = pipelines.id
            ) as last_run_at,
            pipelines.url::text as url
        from pipelines
        left join recency on recency.pipeline_id = pipelines.id
        group by pipelines.id, pipelines.name, pipelines.url
    )

    select * from final order by name
$$;
