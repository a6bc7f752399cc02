-- run_timing: the contract's timestamp rules for one event, on the database clock, with every
-- value bounded so a stored run is always one clients, the totals and every read can
-- represent: times from 2000-01-01 to now + 5 minutes, durations from 0 to 35 days (GitHub's
-- limit for a workflow run; the check constraints on runs and the API's schema say the same).
-- Rejections raise SQLSTATE PP422 with COLUMN naming the field, which the API maps to a 422.
create or replace function run_timing(
    p_status run_status,
    p_started_at timestamptz,
    p_finished_at timestamptz,
    p_duration_sec double precision,
    p_now timestamptz,
    out started_at timestamptz,
    out finished_at timestamptz,
    out duration_sec double precision
)
language plpgsql
stable
as $$
declare
    horizon constant timestamptz := p_now + interval '5 minutes';
    earliest constant timestamptz := '2000-01-01 00:00:00+00';
    longest constant double precision := 35 * 86400;
begin
    if p_started_at > horizon then
        raise exception using errcode = 'PP422', column = 'started_at',
            message = 'started_at is more than 5 minutes in the future';
    end if;
    if p_finished_at > horizon then
        raise exception using errcode = 'PP422', column = 'finished_at',
            message = 'finished_at is more than 5 minutes in the future';
    end if;
    if p_started_at < earliest then
        raise exception using errcode = 'PP422', column = 'started_at',
            message = 'started_at is before 2000-01-01';
    end if;
    if p_finished_at < earliest then
        raise exception using errcode = 'PP422', column = 'finished_at',
            message = 'finished_at is before 2000-01-01';
    end if;
    if p_duration_sec is not null
        and (p_duration_sec < 0 or p_duration_sec in ('NaN', 'Infinity', '-Infinity')) then
        raise exception using errcode = 'PP422', column = 'duration_sec',
            message = 'must be a finite number of seconds, zero or more';
    end if;
    if p_duration_sec > longest then
        raise exception using errcode = 'PP422', column = 'duration_sec',
            message = format('must be at most %s seconds (35 days)', longest);
    end if;

    if p_status = 'running' then
        if p_finished_at is not null then
            raise exception using errcode = 'PP422', column = 'finished_at',
                message = 'a running run has no finished_at';
        end if;
        if p_duration_sec is not null then
            raise exception using errcode = 'PP422', column = 'duration_sec',
                message = 'a running run has no duration_sec';
        end if;
        started_at := coalesce(p_started_at, p_now);
    else
        finished_at := coalesce(
            p_finished_at,
            p_started_at + make_interval(secs => p_duration_sec),
            -- Received now: a client clock slightly ahead must not make the run end before it began.
            greatest(p_now, p_started_at)
        );
        started_at := coalesce(
            p_started_at, finished_at - make_interval(secs => p_duration_sec), finished_at
        );
        -- Durations are kept to the millisecond, so sums of them stay exact.
        duration_sec := round(
            coalesce(p_duration_sec, extract(epoch from finished_at - started_at))::numeric, 3
        )::float8;
        if finished_at < started_at then
            raise exception using errcode = 'PP422', column = 'finished_at',
                message = 'finished_at is before started_at';
        end if;
        if duration_sec > longest then
            raise exception using errcode = 'PP422', column = 'finished_at',
                message = 'finished_at - started_at is more than 35 days';
        end if;
        if abs(extract(epoch from finished_at - started_at) - duration_sec) > 1 then
            raise exception using errcode = 'PP422', column = 'duration_sec',
                message = format(
                    'duration_sec (%s) disagrees with finished_at - started_at (%s s) by more than 1 s',
                    duration_sec, extract(epoch from finished_at - started_at)
                );
        end if;
    end if;

    -- Derived times: started_at + duration_sec may land in the future, finished_at -
    -- duration_sec before 2000.
    if finished_at > horizon then
        raise exception using errcode = 'PP422', column = 'finished_at',
            message = 'finished_at (started_at + duration_sec) is more than 5 minutes in the future';
    end if;
    if started_at < earliest then
        raise exception using errcode = 'PP422', column = 'started_at',
            message = 'started_at (finished_at - duration_sec) is before 2000-01-01';
    end if;
end;
$$;
