-- duration_bin: the bin of a duration in the totals' mergeable histograms (a fixed log scale,
-- as in DDSketch). Bin 0 holds 0 ms; bin b >= 1 holds (g^(b-2), g^(b-1)] ms with g = 1.04.
-- Reporting a bin by 2 g^(b-1) / (g + 1) (duration_bin_value_ms) is off by at most
-- (g - 1) / (g + 1) = 1.96 % of any value in it, so a percentile read from merged histograms is
-- within 1.96 % of the exact one.
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
