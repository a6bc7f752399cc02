-- window_spans: cut the half-open interval [p_lo, p_hi) into whole UTC months, days and hours
-- (read from run_rollups) and the ragged edges left over (grain 'raw', read from runs).
-- Any window in minutes is then exact, and its cost is bounded by the number of spans.
create or replace function window_spans(
    p_lo timestamptz,
    p_hi timestamptz,
    p_level integer default 1
)
returns table (grain text, lo timestamptz, hi timestamptz)
language plpgsql
immutable
rows 5
as $$
declare
    unit text := (array['month', 'day', 'hour'])[p_level];
    step interval;
    first_full timestamptz;
    last_full timestamptz;
begin
    if p_lo >= p_hi then
        return;
    end if;
    if unit is null then
        grain := 'raw';
        lo := p_lo;
        hi := p_hi;
        return next;
        return;
    end if;
    step := ('1 ' || unit)::interval;
    -- In UTC wall time, so months and days are calendar ones whatever the session's TimeZone.
    first_full := date_trunc(unit, p_lo at time zone 'UTC') at time zone 'UTC';
    if first_full < p_lo then
        first_full := (date_trunc(unit, p_lo at time zone 'UTC') + step) at time zone 'UTC';
    end if;
    last_full := date_trunc(unit, p_hi at time zone 'UTC') at time zone 'UTC';
    if first_full >= last_full then
        return query select * from window_spans(p_lo, p_hi, p_level + 1);
        return;
    end if;
    return query select * from window_spans(p_lo, first_full, p_level + 1);
    grain := unit;
    lo := first_full;
    hi := last_full;
    return next;
    return query select * from window_spans(last_full, p_hi, p_level + 1);
end;
$$;
