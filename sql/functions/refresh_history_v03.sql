-- refresh_history: one refresh of the daily history (pulse worker, pulse refresh). Takes the
-- (pipeline, UTC day) keys the triggers noted in history_changes and recomputes exactly those
-- days, every branch of them, from runs and recoveries into history_pipeline_days and
-- history_branch_days, then snapshots every pipeline's health (health_snapshot). p_full
-- recomputes every day; p_wait waits for a refresh in progress instead of skipping (one
-- refresher at a time: a transaction-level advisory lock). Figures follow the summary's rules:
-- rates and durations over decided runs, percentile_cont, rounded as the API rounds them.
-- Where runs record their attempt (GitHub re-runs), a day also has its first-attempt success
-- rate (decided runs of attempt 1) and its re-run recoveries: successes of a later attempt of
-- a commit whose earlier attempt failed on the same pipeline and branch, on the re-run's day.
-- v03: each day also keeps its decided runs' duration histogram (duration_bin, as the running
-- totals bin them) and first-try counts, and history_days merges them across pipelines for
-- each touched day: what percentiles and rates over many days and pipelines read. Likewise
-- each day's recoveries binned by their time to green, its failures by UTC quarter-hour, and
-- who triggered them: what the Streamlit pages read for a year instead of the runs.
create or replace function refresh_history(
    p_full boolean default false,
    p_wait boolean default false
)
returns table (
    refreshed boolean,
    pipeline_days integer,
    branch_days integer,
    pipelines integer
)
language plpgsql
as $$
declare
    lock_key constant bigint := 7351001;  -- refresh_history's advisory lock
    v_pipeline_days integer;
    v_branch_days integer;
    v_pipelines integer;
begin
    if p_wait then
        perform pg_advisory_xact_lock(lock_key);
    elsif not pg_try_advisory_xact_lock(lock_key) then
        return query select false, 0, 0, 0;
        return;
    end if;

    -- Dropped at commit; dropped here too when a transaction refreshes twice.
    drop table if exists pg_temp.touched;
    create temporary table touched (
        pipeline_id integer not null,
        day date not null,
        primary key (pipeline_id, day)
    ) on commit drop;

    -- Keys taken here leave history_changes when this transaction commits; a write committed
    -- meanwhile notes its key again, for the next refresh.
    with taken as (
        delete from history_changes returning pipeline_id, day
    )
    insert into touched select pipeline_id, day from taken where not p_full;
    analyze touched;

    if p_full then
        delete from history_branch_days;
        delete from history_pipeline_days;
    else
        delete from history_branch_days as h
        using touched
        where h.pipeline_id = touched.pipeline_id and h.day = touched.day;
        delete from history_pipeline_days as h
        using touched
        where h.pipeline_id = touched.pipeline_id and h.day = touched.day;
    end if;

    with touched_days as (
        select
            pipeline_id,
            day,
            day::timestamp at time zone 'UTC' as day_start,
            (day + 1)::timestamp at time zone 'UTC' as day_end
        from touched
    ),

    day_runs as (
        -- Each touched day through the (pipeline_id, started_at) index, or every run.
        select touched_days.pipeline_id, runs.branch, touched_days.day, runs.status,
            runs.duration_sec, runs.attempt, runs.is_rerun_recovery,
            case when runs.status in ('success', 'failure')
                then duration_bin(round(runs.duration_sec * 1000)::bigint) end as bin,
            runs.triggered_by,
            -- The UTC quarter-hour it started in, 1 to 96.
            (extract(hour from runs.started_at at time zone 'UTC') * 4
                + floor(extract(minute from runs.started_at at time zone 'UTC') / 15))::integer + 1 as quarter
        from touched_days
        cross join lateral (
            select runs.branch, runs.status, runs.duration_sec, runs.attempt, runs.started_at,
                runs.triggered_by,
                (runs.attempt > 1 and runs.status = 'success' and exists (
                    select from runs as earlier
                    where earlier.pipeline_id = runs.pipeline_id
                        and earlier.commit = runs.commit
                        and earlier.branch = runs.branch
                        and earlier.attempt < runs.attempt
                        and earlier.status = 'failure'
                )) as is_rerun_recovery
            from runs
            where runs.pipeline_id = touched_days.pipeline_id
                and runs.started_at >= touched_days.day_start
                and runs.started_at < touched_days.day_end
            offset 0  -- a fence: one index range scan per touched day
        ) as runs
        where not p_full
        union all
        select runs.pipeline_id, runs.branch, (runs.started_at at time zone 'UTC')::date,
            runs.status, runs.duration_sec, runs.attempt,
            (runs.attempt > 1 and runs.status = 'success' and exists (
                select from runs as earlier
                where earlier.pipeline_id = runs.pipeline_id
                    and earlier.commit = runs.commit
                    and earlier.branch = runs.branch
                    and earlier.attempt < runs.attempt
                    and earlier.status = 'failure'
            )),
            case when runs.status in ('success', 'failure')
                then duration_bin(round(runs.duration_sec * 1000)::bigint) end,
            runs.triggered_by,
            (extract(hour from runs.started_at at time zone 'UTC') * 4
                + floor(extract(minute from runs.started_at at time zone 'UTC') / 15))::integer + 1
        from runs
        where p_full
    ),

    day_recoveries as (
        select touched_days.pipeline_id, recoveries.per_branch, recoveries.branch,
            touched_days.day, recoveries.time_to_green_us
        from touched_days
        cross join lateral (
            select recoveries.per_branch, recoveries.branch, recoveries.time_to_green_us
            from recoveries
            where recoveries.pipeline_id = touched_days.pipeline_id
                and recoveries.recovered_at >= touched_days.day_start
                and recoveries.recovered_at < touched_days.day_end
            offset 0  -- a fence: one index range scan per touched day
        ) as recoveries
        where not p_full
        union all
        select pipeline_id, per_branch, branch, (recovered_at at time zone 'UTC')::date,
            time_to_green_us
        from recoveries
        where p_full
    ),

    -- A null branch is the whole pipeline's row.
    run_figures as (
        select
            pipeline_id,
            branch,
            day,
            count(*) as total,
            count(*) filter (where status = 'success') as success,
            count(*) filter (where status = 'failure') as failure,
            count(*) filter (where status = 'running') as running,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'skipped') as skipped,
            -- Summed in integer ms as the rollups do: exact, whatever the order of the rows.
            sum(round(duration_sec * 1000)::bigint) filter (where status in ('success', 'failure'))
                as decided_duration_ms,
            percentile_cont(0.5) within group (order by duration_sec)
                filter (where status in ('success', 'failure')) as p50_duration_sec,
            percentile_cont(0.95) within group (order by duration_sec)
                filter (where status in ('success', 'failure')) as p95_duration_sec,
            count(*) filter (where attempt = 1 and status in ('success', 'failure'))
                as first_try_decided,
            count(*) filter (where attempt = 1 and status = 'success') as first_try_success,
            count(*) filter (where is_rerun_recovery) as rerun_recoveries
        from day_runs
        group by grouping sets ((pipeline_id, day, branch), (pipeline_id, day))
    ),

    -- Decided runs per duration bin, per branch-day and pipeline-day (a null branch).
    bin_counts as (
        select pipeline_id, branch, day, bin, count(*) as runs
        from day_runs
        where bin is not null
        group by grouping sets ((pipeline_id, day, branch, bin), (pipeline_id, day, bin))
    ),

    hists as (
        select pipeline_id, branch, day, hist_agg(bin, runs order by bin) as duration_hist
        from bin_counts
        group by pipeline_id, branch, day
    ),

    -- Recoveries on a branch (per_branch) count for that branch; the pipeline's own
    -- recoveries (all branches interleaved) for the pipeline's row.
    -- Failures per UTC quarter-hour of their start (the heatmap of any clock's hours), and
    -- decided runs per person who triggered them: {"octocat": [failures, decided]}.
    failure_quarters as (
        select pipeline_id, branch, day, quarter, count(*) as failures
        from day_runs
        where status = 'failure'
        group by grouping sets ((pipeline_id, day, branch, quarter), (pipeline_id, day, quarter))
    ),

    trigger_counts as (
        select
            pipeline_id,
            branch,
            day,
            triggered_by,
            count(*) filter (where status = 'failure') as failures,
            count(*) as decided
        from day_runs
        where status in ('success', 'failure')
        group by grouping sets (
            (pipeline_id, day, branch, triggered_by), (pipeline_id, day, triggered_by)
        )
    ),

    failure_figures as (
        select
            coalesce(quarters.pipeline_id, triggers.pipeline_id) as pipeline_id,
            coalesce(quarters.branch, triggers.branch) as branch,
            coalesce(quarters.day, triggers.day) as day,
            quarters.failures_by_quarter,
            triggers.decided_by_trigger
        from (
            select pipeline_id, branch, day,
                hist_agg(quarter, failures order by quarter) as failures_by_quarter
            from failure_quarters
            group by pipeline_id, branch, day
        ) as quarters
        full join (
            select pipeline_id, branch, day,
                jsonb_object_agg(triggered_by, jsonb_build_array(failures, decided))
                    as decided_by_trigger
            from trigger_counts
            group by pipeline_id, branch, day
        ) as triggers
            on triggers.pipeline_id = quarters.pipeline_id
            and triggers.day = quarters.day
            and triggers.branch is not distinct from quarters.branch
    ),

    -- Each is binned by its time to green in ms, as durations are.
    recovery_bins as (
        select
            pipeline_id,
            case when per_branch then branch end as branch,
            day,
            duration_bin(round(time_to_green_us / 1000.0)::bigint) as bin,
            count(*) as recoveries,
            sum(time_to_green_us) as time_to_green_us
        from day_recoveries
        group by 1, 2, 3, 4
    ),

    recovery_figures as (
        select
            pipeline_id,
            branch,
            day,
            sum(recoveries)::bigint as recoveries,
            sum(time_to_green_us) as time_to_green_us,
            hist_agg(bin, recoveries order by bin) as time_to_green_hist
        from recovery_bins
        group by pipeline_id, branch, day
    ),

    figures as (
        select
            coalesce(run_figures.pipeline_id, recovery_figures.pipeline_id) as pipeline_id,
            coalesce(run_figures.branch, recovery_figures.branch) as branch,
            coalesce(run_figures.day, recovery_figures.day) as day,
            coalesce(run_figures.total, 0) as total,
            coalesce(run_figures.success, 0) as success,
            coalesce(run_figures.failure, 0) as failure,
            coalesce(run_figures.running, 0) as running,
            coalesce(run_figures.cancelled, 0) as cancelled,
            coalesce(run_figures.skipped, 0) as skipped,
            round(
                run_figures.success::numeric
                / nullif(run_figures.success + run_figures.failure, 0), 4
            )::float8 as success_rate,
            round(
                run_figures.decided_duration_ms::numeric
                / nullif(run_figures.success + run_figures.failure, 0) / 1000, 3
            )::float8 as avg_duration_sec,
            round(run_figures.p50_duration_sec::numeric, 3)::float8 as p50_duration_sec,
            round(run_figures.p95_duration_sec::numeric, 3)::float8 as p95_duration_sec,
            round(
                run_figures.first_try_success::numeric
                / nullif(run_figures.first_try_decided, 0), 4
            )::float8 as first_try_success_rate,
            coalesce(run_figures.rerun_recoveries, 0) as rerun_recoveries,
            coalesce(run_figures.first_try_decided, 0) as first_try_decided,
            coalesce(run_figures.first_try_success, 0) as first_try_success,
            hists.duration_hist,
            recovery_figures.time_to_green_hist,
            failure_figures.failures_by_quarter,
            failure_figures.decided_by_trigger,
            coalesce(recovery_figures.recoveries, 0) as recoveries,
            round(
                recovery_figures.time_to_green_us::numeric / recovery_figures.recoveries
                / 1000000, 3
            )::float8 as mean_time_to_green_sec
        from run_figures
        full join recovery_figures
            on recovery_figures.pipeline_id = run_figures.pipeline_id
            and recovery_figures.day = run_figures.day
            and recovery_figures.branch is not distinct from run_figures.branch
        left join hists
            on hists.pipeline_id = run_figures.pipeline_id
            and hists.day = run_figures.day
            and hists.branch is not distinct from run_figures.branch
        left join failure_figures
            on failure_figures.pipeline_id = run_figures.pipeline_id
            and failure_figures.day = run_figures.day
            and failure_figures.branch is not distinct from run_figures.branch
    ),

    inserted_branch_days as (
        insert into history_branch_days (
            pipeline_id, branch, day, total, success, failure, running, cancelled, skipped,
            success_rate, avg_duration_sec, p50_duration_sec, p95_duration_sec, recoveries,
            mean_time_to_green_sec, first_try_success_rate, rerun_recoveries,
            first_try_decided, first_try_success, duration_hist, time_to_green_hist,
            failures_by_quarter, decided_by_trigger
        )
        select
            pipeline_id, branch, day, total, success, failure, running, cancelled, skipped,
            success_rate, avg_duration_sec, p50_duration_sec, p95_duration_sec, recoveries,
            mean_time_to_green_sec, first_try_success_rate, rerun_recoveries,
            first_try_decided, first_try_success, duration_hist, time_to_green_hist,
            failures_by_quarter, decided_by_trigger
        from figures
        where branch is not null
        returning 1
    ),

    inserted_pipeline_days as (
        insert into history_pipeline_days (
            pipeline_id, day, total, success, failure, running, cancelled, skipped,
            success_rate, avg_duration_sec, p50_duration_sec, p95_duration_sec, recoveries,
            mean_time_to_green_sec, first_try_success_rate, rerun_recoveries,
            first_try_decided, first_try_success, duration_hist, time_to_green_hist,
            failures_by_quarter, decided_by_trigger
        )
        select
            pipeline_id, day, total, success, failure, running, cancelled, skipped,
            success_rate, avg_duration_sec, p50_duration_sec, p95_duration_sec, recoveries,
            mean_time_to_green_sec, first_try_success_rate, rerun_recoveries,
            first_try_decided, first_try_success, duration_hist, time_to_green_hist,
            failures_by_quarter, decided_by_trigger
        from figures
        where branch is null
        returning 1
    )

    select
        (select count(*) from inserted_pipeline_days),
        (select count(*) from inserted_branch_days)
    into v_pipeline_days, v_branch_days;

    -- The touched days across all pipelines, merged from their pipeline days.
    if p_full then
        delete from history_days;
    else
        delete from history_days where day in (select day from touched);
    end if;

    insert into history_days (
        day, duration_hist, first_try_decided, first_try_success, time_to_green_hist,
        failures_by_quarter, decided_by_trigger
    )
    with days as (
        select distinct day from touched where not p_full
        union all
        select distinct day from history_pipeline_days where p_full
    ),

    pipeline_days as (
        select history_pipeline_days.*
        from history_pipeline_days
        join days on days.day = history_pipeline_days.day
    ),

    bin_counts as (
        select
            pipeline_days.day,
            hists.kind,
            (array_lower(hists.hist, 1) + bins.i - 1)::integer as bin,
            sum(bins.n) as n
        from pipeline_days
        cross join lateral (
            values
                ('durations', pipeline_days.duration_hist),
                ('time to green', pipeline_days.time_to_green_hist),
                ('failures', pipeline_days.failures_by_quarter)
        ) as hists (kind, hist)
        cross join lateral unnest(hists.hist) with ordinality as bins (n, i)
        where bins.n <> 0
        group by 1, 2, 3
    ),

    hists as (
        select
            day,
            hist_agg(bin, n order by bin) filter (where kind = 'durations') as duration_hist,
            hist_agg(bin, n order by bin) filter (where kind = 'time to green')
                as time_to_green_hist,
            hist_agg(bin, n order by bin) filter (where kind = 'failures') as failures_by_quarter
        from bin_counts
        group by day
    ),

    triggers as (
        select day, jsonb_object_agg(triggered_by, jsonb_build_array(failures, decided))
            as decided_by_trigger
        from (
            select
                pipeline_days.day,
                person.key as triggered_by,
                sum((person.value ->> 0)::bigint) as failures,
                sum((person.value ->> 1)::bigint) as decided
            from pipeline_days
            cross join lateral jsonb_each(pipeline_days.decided_by_trigger) as person
            group by 1, 2
        ) as people
        group by day
    ),

    counts as (
        select day, sum(first_try_decided) as first_try_decided,
            sum(first_try_success) as first_try_success
        from pipeline_days
        group by day
    )

    select
        counts.day, hists.duration_hist, counts.first_try_decided, counts.first_try_success,
        hists.time_to_green_hist, hists.failures_by_quarter, triggers.decided_by_trigger
    from counts
    left join hists on hists.day = counts.day
    left join triggers on triggers.day = counts.day;

    -- Heals: each success that followed a failure of the same commit on the same pipeline,
    -- with the start of the latest such failure (what flaky commits over a range read). A
    -- touched day recomputes its successes and those of the commits that failed on it, on
    -- any day (a late failure); heals a later removal undid are dropped by that day's next
    -- refresh or checked against the runs by the reader.
    if p_full then
        delete from history_heals;
        insert into history_heals (
            day, pipeline_id, run_id, commit, branch, healed_at, last_failure_started_at
        )
        select day, pipeline_id, id, commit, branch, finished_at, last_failure_started_at
        from (
            select
                (runs.started_at at time zone 'UTC')::date as day,
                runs.pipeline_id, runs.id, runs.commit, runs.branch, runs.status,
                runs.finished_at,
                max(runs.started_at) filter (where runs.status = 'failure') over (
                    partition by runs.pipeline_id, runs.commit
                    order by runs.finished_at
                    range between unbounded preceding and current row exclude group
                ) as last_failure_started_at
            from runs
            where runs.status in ('success', 'failure')
        ) as decided
        where status = 'success' and last_failure_started_at is not null;
    else
        delete from history_heals as h
        using touched
        where h.pipeline_id = touched.pipeline_id and h.day = touched.day;
        insert into history_heals (
            day, pipeline_id, run_id, commit, branch, healed_at, last_failure_started_at
        )
        with touched_runs as (
            select runs.pipeline_id, runs.commit, runs.status, runs.id
            from touched
            cross join lateral (
                select runs.pipeline_id, runs.commit, runs.status, runs.id
                from runs
                where runs.pipeline_id = touched.pipeline_id
                    and runs.started_at >= touched.day::timestamp at time zone 'UTC'
                    and runs.started_at < (touched.day + 1)::timestamp at time zone 'UTC'
                    and runs.status in ('success', 'failure')
                offset 0  -- a fence: one index range scan per touched day
            ) as runs
        ),

        candidates as (
            select id from touched_runs where status = 'success'
            union
            select later.id
            from (select distinct pipeline_id, commit from touched_runs where status = 'failure')
                as failed
            join runs as later
                on later.pipeline_id = failed.pipeline_id and later.commit = failed.commit
            where later.status = 'success'
        )

        select
            (success.started_at at time zone 'UTC')::date, success.pipeline_id, success.id,
            success.commit, success.branch, success.finished_at, failure.started_at
        from candidates
        join runs as success on success.id = candidates.id
        cross join lateral (
            select max(earlier.started_at) as started_at
            from runs as earlier
            where earlier.pipeline_id = success.pipeline_id
                and earlier.commit = success.commit
                and earlier.status = 'failure'
                and earlier.finished_at < success.finished_at
        ) as failure
        where failure.started_at is not null
        on conflict (day, pipeline_id, run_id) do update
            set healed_at = excluded.healed_at,
                last_failure_started_at = excluded.last_failure_started_at;
    end if;

    -- Health changes with every run: the snapshot is as fresh as the last refresh.
    delete from health_snapshot;
    insert into health_snapshot (
        pipeline_id, state, failure_streak, failing_since, last_success_at, last_failure_at,
        mean_time_to_green_sec, as_of
    )
    select
        pipelines.id, health.state, health.failure_streak, health.failing_since,
        health.last_success_at, health.last_failure_at, health.mean_time_to_green_sec, now()
    from pipeline_health() as health
    join pipelines on pipelines.name = health.pipeline;
    get diagnostics v_pipelines = row_count;

    update history_state set refreshed_at = now(), full_refreshed_at = case
        when p_full then now() else full_refreshed_at end;

    return query select true, v_pipeline_days, v_branch_days, v_pipelines;
end;
$$;
