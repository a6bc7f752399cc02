-- hist_add: add `p_delta` to bin `p_bin` of a histogram whose subscripts are bins (grown as
-- needed).
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
