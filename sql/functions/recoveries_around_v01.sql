-- recoveries_around: recompute the failure episodes a change at (p_finished_at, p_id) can
-- touch in one scope: those ended by the first two successes at or after that place.
create or replace function recoveries_around(
    p_pipeline_id integer, p_branch text, p_finished_at timestamptz, p_id bigint
)
returns void
language plpgsql
as $$
declare
    first_success runs;
    second_success runs;
begin
    first_success := decided_neighbor(
        p_pipeline_id, p_branch, 'success', p_finished_at, p_id - 1, true
    );
    if first_success.id is null then
        return;
    end if;
    perform recovery_refresh(p_branch, first_success);
    second_success := decided_neighbor(
        p_pipeline_id, p_branch, 'success', first_success.finished_at, first_success.id, true
    );
    if second_success.id is not null then
        perform recovery_refresh(p_branch, second_success);
    end if;
end;
$$;
