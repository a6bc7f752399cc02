-- Duration bins for the rollups' mergeable histograms (a fixed log scale, as in DDSketch).
-- Bin 0 holds 0 ms; bin b >= 1 holds (g^(b-2), g^(b-1)] ms with g = 1.04. Reporting a bin by
-- 2 g^(b-1) / (g + 1) is off by at most (g - 1) / (g + 1) = 1.96 % of any value in it, so a
-- percentile read from merged histograms is within 1.96 % of the exact one.
create or replace function duration_bin(p_ms bigint)
returns integer
language sql
immutable
parallel safe
as $$
    select case
        when p_ms <= 0 then 0
        else 1 + ceil(ln(p_ms::float8) / ln(1.04) - 1e-9)::integer
    end
$$;

create or replace function duration_bin_value_ms(p_bin integer)
returns double precision
language sql
immutable
parallel safe
as $$
    select case
        when p_bin <= 0 then 0
        else 2 * power(1.04::float8, p_bin - 1) / 2.04
    end
$$;

-- Add `p_delta` to bin `p_bin` of a histogram whose subscripts are bins (grown as needed).
create or replace function hist_add(p_hist integer[], p_bin integer, p_delta integer)
returns integer[]
language plpgsql
immutable
parallel safe
as $$
begin
    if p_hist is null then
        return array_fill(p_delta, array[1], array[p_bin]);
    end if;
    p_hist[p_bin] := coalesce(p_hist[p_bin], 0) + p_delta;
    return p_hist;
end;
$$;

-- Add histogram p_add to p_hist, bin by bin; hist_sum is the aggregate of it.
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
    for bin in select generate_subscripts(p_add, 1) loop
        if p_add[bin] <> 0 then
            p_hist := hist_add(p_hist, bin, p_add[bin]);
        end if;
    end loop;
    return p_hist;
end;
$$;

create or replace aggregate hist_sum(integer[]) (
    sfunc = hist_merge,
    stype = integer[]
);
