-- Rollups kept exact by triggers on runs, in the writing transaction.
--
-- pipeline_hour_rollups and pipeline_day_totals: the same per pipeline across branches, per
-- hour and as running totals at each UTC midnight, for unfiltered windows.
--
-- run_rollups: each run counts once per grain (hour, day, month) in the bucket of its
-- started_at, under its status; decided runs add their duration (integer ms) and one to their
-- duration bin. A change subtracts the old row's contribution and adds the new one.
--
-- recoveries: per pipeline and per branch, each success that ended a failure episode, with the
-- time from the episode's first failure. A change of a decided run can only alter the episodes
-- ended by the first two successes at or after its place in finished_at order, so only those
-- are recomputed, by index probes. recovery_rollups sums them per bucket of recovered_at.
--
-- Every change first takes its pipeline's advisory lock (ingest_run v02 takes it before it
-- locks a run row): one writer per pipeline at a time, so the rows these triggers lock are
-- always locked in one order and concurrent writers cannot deadlock. rebuild_rollups takes
-- the same lock to recompute one pipeline while ingest goes on for the others.
-- A scope argument p_branch is null for the whole pipeline.

create or replace function rollup_add(p_run runs, p_sign integer)
returns void
language sql
as $$
    insert into run_rollups as r (
        grain, pipeline_id, branch, bucket_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        grains.grain,
        p_run.pipeline_id,
        p_run.branch,
        date_trunc(grains.grain, p_run.started_at at time zone 'UTC') at time zone 'UTC',
        p_sign * (p_run.status = 'running')::integer,
        p_sign * (p_run.status = 'success')::integer,
        p_sign * (p_run.status = 'failure')::integer,
        p_sign * (p_run.status = 'cancelled')::integer,
        p_sign * (p_run.status = 'skipped')::integer,
        case when p_run.status in ('success', 'failure')
            then p_sign * round(p_run.duration_sec * 1000)::bigint else 0 end,
        case when p_run.status in ('success', 'failure')
            then hist_add(null, duration_bin(round(p_run.duration_sec * 1000)::bigint), p_sign)
        end
    from (values ('hour'), ('day'), ('month')) as grains (grain)
    on conflict (grain, pipeline_id, branch, bucket_start) do update set
        running = r.running + excluded.running,
        success = r.success + excluded.success,
        failure = r.failure + excluded.failure,
        cancelled = r.cancelled + excluded.cancelled,
        skipped = r.skipped + excluded.skipped,
        decided_duration_ms = r.decided_duration_ms + excluded.decided_duration_ms,
        duration_hist = case
            when excluded.duration_hist is null then r.duration_hist
            else hist_add(
                r.duration_hist,
                array_lower(excluded.duration_hist, 1),
                excluded.duration_hist[array_lower(excluded.duration_hist, 1)]
            )
        end
$$;

-- The pipeline-wide rows: its hour, and the running day totals of every day after the run's.
create or replace function pipeline_rollup_add(p_run runs, p_sign integer)
returns void
language plpgsql
as $$
declare
    is_decided constant boolean := p_run.status in ('success', 'failure');
    decided_ms constant bigint := case when is_decided
        then round(p_run.duration_sec * 1000)::bigint else 0 end;
    bin constant integer := duration_bin(decided_ms);
    next_day constant timestamptz :=
        (date_trunc('day', p_run.started_at at time zone 'UTC') + interval '1 day')
        at time zone 'UTC';
begin
    insert into pipeline_hour_rollups as r (
        pipeline_id, bucket_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    values (
        p_run.pipeline_id,
        date_trunc('hour', p_run.started_at at time zone 'UTC') at time zone 'UTC',
        p_sign * (p_run.status = 'running')::integer,
        p_sign * (p_run.status = 'success')::integer,
        p_sign * (p_run.status = 'failure')::integer,
        p_sign * (p_run.status = 'cancelled')::integer,
        p_sign * (p_run.status = 'skipped')::integer,
        p_sign * decided_ms,
        case when is_decided then hist_add(null, bin, p_sign) end
    )
    on conflict (pipeline_id, bucket_start) do update set
        running = r.running + excluded.running,
        success = r.success + excluded.success,
        failure = r.failure + excluded.failure,
        cancelled = r.cancelled + excluded.cancelled,
        skipped = r.skipped + excluded.skipped,
        decided_duration_ms = r.decided_duration_ms + excluded.decided_duration_ms,
        duration_hist = case when is_decided
            then hist_add(r.duration_hist, bin, p_sign) else r.duration_hist end;

    -- The first run of a day opens the next day's row: the latest totals before it, since
    -- no run lies between (it would have opened a row of its own).
    insert into pipeline_day_totals (
        pipeline_id, day_start,
        running, success, failure, cancelled, skipped, decided_duration_ms, duration_hist
    )
    select
        p_run.pipeline_id, next_day,
        coalesce(previous.running, 0), coalesce(previous.success, 0),
        coalesce(previous.failure, 0), coalesce(previous.cancelled, 0),
        coalesce(previous.skipped, 0), coalesce(previous.decided_duration_ms, 0),
        previous.duration_hist
    from (select 1) as one
    left join lateral (
        select *
        from pipeline_day_totals
        where pipeline_id = p_run.pipeline_id and day_start < next_day
        order by day_start desc
        limit 1
    ) as previous on true
    on conflict (pipeline_id, day_start) do nothing;

    update pipeline_day_totals set
        running = running + p_sign * (p_run.status = 'running')::integer,
        success = success + p_sign * (p_run.status = 'success')::integer,
        failure = failure + p_sign * (p_run.status = 'failure')::integer,
        cancelled = cancelled + p_sign * (p_run.status = 'cancelled')::integer,
        skipped = skipped + p_sign * (p_run.status = 'skipped')::integer,
        decided_duration_ms = decided_duration_ms + p_sign * decided_ms,
        duration_hist = case when is_decided
            then hist_add(duration_hist, bin, p_sign) else duration_hist end
    where pipeline_id = p_run.pipeline_id and day_start >= next_day;
end;
$$;

-- The decided run of p_status next to (p_finished_at, p_id) in finished_at order, after or
-- before it, in a scope: one index probe. Each scope and direction is its own statement, so
-- each keeps a cached plan on its own index.
create or replace function decided_neighbor(
    p_pipeline_id integer,
    p_branch text,
    p_status run_status,
    p_finished_at timestamptz,
    p_id bigint,
    p_after boolean
)
returns runs
language plpgsql
stable
as $$
declare
    neighbor runs;
begin
    if p_branch is null and p_after then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) > (p_finished_at, p_id)
        order by finished_at, id
        limit 1;
    elsif p_branch is null then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) < (p_finished_at, p_id)
        order by finished_at desc, id desc
        limit 1;
    elsif p_after then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) > (p_finished_at, p_id)
        order by finished_at, id
        limit 1;
    else
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) < (p_finished_at, p_id)
        order by finished_at desc, id desc
        limit 1;
    end if;
    return neighbor;
end;
$$;

-- The recovery (if any) that success `ended` brings about in a scope: from the first failure
-- after the previous success to it.
create or replace function recovery_refresh(p_branch text, ended runs)
returns void
language plpgsql
as $$
declare
    v_per_branch constant boolean := p_branch is not null;
    previous_success runs;
    first_failure runs;
begin
    previous_success := decided_neighbor(
        ended.pipeline_id, p_branch, 'success', ended.finished_at, ended.id, false
    );
    first_failure := decided_neighbor(
        ended.pipeline_id, p_branch, 'failure',
        coalesce(previous_success.finished_at, '-infinity'), coalesce(previous_success.id, 0),
        true
    );
    if first_failure.id is null
        or (first_failure.finished_at, first_failure.id) > (ended.finished_at, ended.id) then
        delete from recoveries r where r.run_id = ended.id and r.per_branch = v_per_branch;
        return;
    end if;
    insert into recoveries as r (
        run_id, per_branch, pipeline_id, branch, recovered_at, time_to_green_us
    )
    values (
        ended.id, v_per_branch, ended.pipeline_id, ended.branch, ended.finished_at,
        round(extract(epoch from ended.finished_at - first_failure.finished_at) * 1000000)::bigint
    )
    on conflict (run_id, per_branch) do update set
        pipeline_id = excluded.pipeline_id,
        branch = excluded.branch,
        recovered_at = excluded.recovered_at,
        time_to_green_us = excluded.time_to_green_us
    where (r.pipeline_id, r.branch, r.recovered_at, r.time_to_green_us)
        is distinct from (excluded.pipeline_id, excluded.branch, excluded.recovered_at,
                          excluded.time_to_green_us);
end;
$$;

-- Recompute the episodes a change at (p_finished_at, p_id) can touch, in one scope: those
-- ended by the first two successes at or after that place.
create or replace function recoveries_around(
    p_pipeline_id integer, p_branch text, p_finished_at timestamptz, p_id bigint
)
returns void
language plpgsql
as $$
declare
    first_success runs;
    second_success runs;
begin
    first_success := decided_neighbor(
        p_pipeline_id, p_branch, 'success', p_finished_at, p_id - 1, true
    );
    if first_success.id is null then
        return;
    end if;
    perform recovery_refresh(p_branch, first_success);
    second_success := decided_neighbor(
        p_pipeline_id, p_branch, 'success', first_success.finished_at, first_success.id, true
    );
    if second_success.id is not null then
        perform recovery_refresh(p_branch, second_success);
    end if;
end;
$$;

create or replace function runs_keep_rollups()
returns trigger
language plpgsql
as $$
begin
    if tg_op = 'UPDATE'
        and (old.pipeline_id, old.branch, old.status, old.started_at, old.finished_at,
             old.duration_sec)
            is not distinct from
            (new.pipeline_id, new.branch, new.status, new.started_at, new.finished_at,
             new.duration_sec) then
        return null;
    end if;

    if tg_op <> 'INSERT' then
        perform pg_advisory_xact_lock(7461002, old.pipeline_id);
        perform rollup_add(old, -1);
        perform pipeline_rollup_add(old, -1);
        if old.status in ('success', 'failure') then
            delete from recoveries where run_id = old.id;
            perform recoveries_around(old.pipeline_id, null, old.finished_at, old.id);
            perform recoveries_around(old.pipeline_id, old.branch, old.finished_at, old.id);
        end if;
    end if;
    if tg_op <> 'DELETE' then
        perform pg_advisory_xact_lock(7461002, new.pipeline_id);
        perform rollup_add(new, 1);
        perform pipeline_rollup_add(new, 1);
        if new.status in ('success', 'failure') then
            perform recoveries_around(new.pipeline_id, null, new.finished_at, new.id);
            perform recoveries_around(new.pipeline_id, new.branch, new.finished_at, new.id);
        end if;
    end if;
    return null;
end;
$$;

create or replace function recovery_rollup_add(p_recovery recoveries, p_sign integer)
returns void
language sql
as $$
    insert into recovery_rollups as r (
        grain, pipeline_id, per_branch, branch, bucket_start, recoveries, time_to_green_us
    )
    select
        grains.grain,
        p_recovery.pipeline_id,
        p_recovery.per_branch,
        case when p_recovery.per_branch then p_recovery.branch else '' end,
        date_trunc(grains.grain, p_recovery.recovered_at at time zone 'UTC') at time zone 'UTC',
        p_sign,
        p_sign * p_recovery.time_to_green_us
    from (values ('hour'), ('day'), ('month')) as grains (grain)
    on conflict (grain, pipeline_id, per_branch, branch, bucket_start) do update set
        recoveries = r.recoveries + excluded.recoveries,
        time_to_green_us = r.time_to_green_us + excluded.time_to_green_us
$$;

create or replace function recoveries_keep_rollups()
returns trigger
language plpgsql
as $$
begin
    if current_setting('pulse.rebuilding_rollups', true) = 'on' then
        return null;
    end if;
    if tg_op <> 'INSERT' then
        perform recovery_rollup_add(old, -1);
    end if;
    if tg_op <> 'DELETE' then
        perform recovery_rollup_add(new, 1);
    end if;
    return null;
end;
$$;
