-- hist_sum: the sum of duration histograms, bin by bin (hour_totals_rebuild's running sums).
create or replace aggregate hist_sum(integer[]) (
    sfunc = hist_merge,
    stype = integer[]
);
