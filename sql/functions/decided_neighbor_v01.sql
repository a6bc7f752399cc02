-- decided_neighbor: the decided run of p_status next to (p_finished_at, p_id) in finished_at
-- order, after or before it, in a scope (the pipeline, or one branch): one index probe. Each
-- scope and direction is its own statement, so each keeps a cached plan on its own index.
create or replace function decided_neighbor(
    p_pipeline_id integer,
    p_branch text,
    p_status run_status,
    p_finished_at timestamptz,
    p_id bigint,
    p_after boolean
)
returns runs
language plpgsql
stable
as $$
declare
    neighbor runs;
begin
    if p_branch is null and p_after then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) > (p_finished_at, p_id)
        order by finished_at, id
        limit 1;
    elsif p_branch is null then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) < (p_finished_at, p_id)
        order by finished_at desc, id desc
        limit 1;
    elsif p_after then
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) > (p_finished_at, p_id)
        order by finished_at, id
        limit 1;
    else
        select * into neighbor from runs
        where pipeline_id = p_pipeline_id and branch = p_branch and status = p_status
            and status in ('success', 'failure')
            and (finished_at, id) < (p_finished_at, p_id)
        order by finished_at desc, id desc
        limit 1;
    end if;
    return neighbor;
end;
$$;
