-- hist_agg: a histogram from (bin, count) rows (hour_totals_rebuild).
create or replace aggregate hist_agg(integer, bigint) (
    sfunc = hist_agg_step,
    stype = integer[]
);
