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
