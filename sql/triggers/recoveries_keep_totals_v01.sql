-- recoveries_keep_totals: keeps recovery_totals equal to the recoveries, row by row
-- (recovery_totals_add), except while `pulse.rebuilding_rollups` is on (rebuild_rollups writes
-- the totals whole).
create or replace function recoveries_keep_totals()
returns trigger
language plpgsql
as $$
begin
    if current_setting('pulse.rebuilding_rollups', true) = 'on' then
        return null;
    end if;
    if tg_op <> 'INSERT' then
        perform recovery_totals_add(old, -1);
    end if;
    if tg_op <> 'DELETE' then
        perform recovery_totals_add(new, 1);
    end if;
    return null;
end;
$$;

create or replace trigger recoveries_keep_totals
after insert or update or delete on recoveries
for each row execute function recoveries_keep_totals();
