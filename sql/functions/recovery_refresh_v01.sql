-- recovery_refresh: the recovery (if any) that success `ended` brings about in a scope: from the
-- first failure after the previous success to it.
create or replace function recovery_refresh(p_branch text, ended runs)
returns void
language plpgsql
as $$
declare
    v_per_branch constant boolean := p_branch is not null;
    previous_success runs;
    first_failure runs;
begin
    previous_success := decided_neighbor(
        ended.pipeline_id, p_branch, 'success', ended.finished_at, ended.id, false
    );
    first_failure := decided_neighbor(
        ended.pipeline_id, p_branch, 'failure',
        coalesce(previous_success.finished_at, '-infinity'), coalesce(previous_success.id, 0),
        true
    );
    if first_failure.id is null
        or (first_failure.finished_at, first_failure.id) > (ended.finished_at, ended.id) then
        delete from recoveries r where r.run_id = ended.id and r.per_branch = v_per_branch;
        return;
    end if;
    insert into recoveries as r (
        run_id, per_branch, pipeline_id, branch, recovered_at, time_to_green_us
    )
    values (
        ended.id, v_per_branch, ended.pipeline_id, ended.branch, ended.finished_at,
        round(extract(epoch from ended.finished_at - first_failure.finished_at) * 1000000)::bigint
    )
    on conflict (run_id, per_branch) do update set
        pipeline_id = excluded.pipeline_id,
        branch = excluded.branch,
        recovered_at = excluded.recovered_at,
        time_to_green_us = excluded.time_to_green_us
    where (r.pipeline_id, r.branch, r.recovered_at, r.time_to_green_us)
        is distinct from (excluded.pipeline_id, excluded.branch, excluded.recovered_at,
                          excluded.time_to_green_us);
end;
$$;
