-- duration_bin_value_ms: the value a duration bin stands for, 2 g^(b-1) / (g + 1) ms with
-- g = 1.04: within 1.96 % of any duration in the bin (duration_bin).
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
