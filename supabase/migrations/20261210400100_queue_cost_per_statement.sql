-- What one job costs, part six: the claim's and every write's fixed work per statement.
--
-- One job at a time, a job's Postgres CPU is mostly what each statement costs before it touches
-- the job: measured piece by piece with instruction counts of one backend (docs/benchmarks.md,
-- "The claim and the completion, piece by piece"), a claim_jobs(1) and a complete_jobs of one
-- cost about 3.7 M instructions per job, of which the rules of jobs_row_valid, jobs_result_shape
-- and jobs_traceparent_format, checked on every UPDATE of a job, were some 0.39 M.
-- - jobs_result_shape checks the result's shape only when there is a result. The claim, each
--   heartbeat, a release or a failure write a job without one, and each paid for a PL/pgSQL call
--   (its set-up for the statement, its expressions prepared again in every transaction) to be told
--   that null is a valid result. The rule is the same: a null result was valid and still is; every
--   result that is not null is checked as before.
-- - claim_jobs reads the caller's role and sets the actor with assignments instead of PERFORM,
--   as complete_jobs does; otherwise as in 20261207500100_job_cost_claim_and_record.sql.
set local lock_timeout = '5s';

-- NOT VALID, as in 20261208310200_job_result_shape.sql: the rule is unchanged for every row, so
-- there is nothing to check again under the table's lock.
alter table public.jobs drop constraint jobs_result_shape;
alter table public.jobs add constraint jobs_result_shape check (result is null or private.is_job_result(result)) not valid;

-- claim_jobs: contract, picking, budget and lease as in 20261207500100_job_cost_claim_and_record.sql.
-- Its grants are kept by CREATE OR REPLACE.
create or replace function public.claim_jobs(
  p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60, p_with_budget boolean default false
) returns setof public.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ignored text;
begin
  -- Assignments, not PERFORM: a PERFORM runs its SELECT through the executor, an assignment of a
  -- plain function call is a simple expression (as in complete_jobs).
  v_ignored := private.require_role(array['service_role'], 'claim_jobs');
  if p_worker_id is null or btrim(p_worker_id) = '' or length(p_worker_id) > 200 then
    raise exception 'worker id is required (at most 200 characters)' using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 500 then
    raise exception 'limit must be between 1 and 500' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 5 or p_lease_seconds > 3600 then
    raise exception 'lease must be between 5 and 3600 seconds' using errcode = '22023';
  end if;
  v_ignored := private.set_actor('worker');

  -- An open circuit becomes half-open after its cool-down. Touches a row only at that moment.
  update public.model_health
     set circuit_state = 'half_open', half_open_at = now(), updated_at = now()
   where circuit_state = 'open' and opened_at <= now() - private.circuit_cooldown();

  if p_with_budget then
    return query
    with budget as (
      select m.id,
             least(m.rate_per_minute::double precision,
                   h.budget_tokens + extract(epoch from now() - h.budget_refilled_at) * m.rate_per_minute / 60.0) as tokens,
             case when h.circuit_state = 'closed' then p_limit
                  when not exists (
                    select 1 from public.jobs r
                     where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at) then 1
                  else 0 end as slots
        from public.models m join public.model_health h on h.model_id = m.id
       where m.enabled and not m.paused and h.circuit_state in ('closed', 'half_open')
         and (h.retry_after_until is null or h.retry_after_until <= now())
         and exists (select 1 from public.jobs q where q.status = 'queued' and q.run_at <= now() and q.model_id = m.id)
       order by m.id
         for update of h
    ), picked as (
      select p.id, b.id as model_id
        from budget b
       cross join lateral (
         select j.id, j.priority, j.run_at from public.jobs j
          where j.status = 'queued' and j.run_at <= now() and j.model_id = b.id
          order by j.priority desc, j.run_at, j.id
          limit least(b.slots, floor(b.tokens)::integer)
            for update skip locked) p
       order by p.priority desc, p.run_at, p.id
       limit p_limit
    ), spent as (
      update public.model_health h
         set budget_tokens = b.tokens - s.n, budget_refilled_at = now()
        from (select model_id, count(*) as n from picked group by model_id) s
        join budget b on b.id = s.model_id
       where h.model_id = s.model_id
    )
    update public.jobs j
       set status = 'running',
           attempt = j.attempt + 1,
           lease_token = extensions.gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           worker_id = p_worker_id,
           attempted_at = now(),
           -- The worker calls Gemini at once with the budget it holds: the owner sees it start.
           progress = 5,
           stage = 'generating',
           updated_at = now()
      from picked
     where j.id = picked.id
    returning j.*;
    return;
  end if;

  return query
  with ready_models as (
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused and h.circuit_state = 'closed'
       and (h.retry_after_until is null or h.retry_after_until <= now())
  ), probe_models as (
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused and h.circuit_state = 'half_open'
       and (h.retry_after_until is null or h.retry_after_until <= now())
       and not exists (
         select 1 from public.jobs r
          where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at)
  ), ready_pick as (
    select j.id
      from public.jobs j
     where j.status = 'queued' and j.run_at <= now()
       and j.model_id in (select id from ready_models)
     order by j.priority desc, j.run_at, j.id
     limit p_limit
       for update skip locked
  ), probe_pick as (
    select p.id
      from probe_models pm
     cross join lateral (
       select j.id from public.jobs j
        where j.status = 'queued' and j.run_at <= now() and j.model_id = pm.id
        order by j.priority desc, j.run_at, j.id
        limit 1
          for update skip locked) p
  ), picked as (
    select id from ready_pick
    union all
    select id from probe_pick
    limit p_limit
  )
  update public.jobs j
     set status = 'running',
         attempt = j.attempt + 1,
         lease_token = extensions.gen_random_uuid(),
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         worker_id = p_worker_id,
         attempted_at = now(),
         progress = 0,
         stage = 'claimed',
         updated_at = now()
    from picked
   where j.id = picked.id
  returning j.*;
end;
$$;
