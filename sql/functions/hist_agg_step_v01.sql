-- hist_agg_step: add p_count to bin p_bin; the step of the hist_agg aggregate.
create or replace function hist_agg_step(p_hist integer[], p_bin integer, p_count bigint)
returns integer[]
language sql
immutable
parallel safe
as $$
    select hist_add(p_hist, p_bin, p_count::integer)
$$;
