-- claim_jobs with one UPDATE. 20261207500100_job_cost_claim_and_record.sql gave it two
-- statements, with and without the rate budget, each with its own copy of the claim's column
-- list. Now the two ways of picking jobs are branches of one statement, each gated by
-- p_with_budget (a condition on the parameter alone, which the planner turns into a one-time
-- filter: the branch not taken runs no scan), and one UPDATE sets the claim's columns for both.
-- The contract is unchanged; it is above the function.
set local lock_timeout = '5s';

-- claim_jobs(p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60,
--            p_with_budget boolean default false) returns setof public.jobs
-- One statement, FOR UPDATE SKIP LOCKED, a fresh lease token per job; models skipped while
-- disabled, paused, under a Retry-After or open; one probe per half-open model.
-- With p_with_budget each claimed job also takes one token of its model's budget (the token
-- bucket of acquire_model_budget): a model yields at most as many jobs as it has whole tokens,
-- and its jobs start at stage 'generating', 5 % (the worker calls the model at once). The budget
-- rows of the models with ready work are locked in model order for the rest of the transaction
-- (two claimers of one model take turns for microseconds, as two acquire_model_budget calls
-- did; the order rules out a deadlock between claimers). Without it, a bare queue claim: stage
-- 'claimed', 0 %.
-- Errors: 42501 not service_role; 22023 bad limit (1..500), lease (5..3600 s) or worker id.
create or replace function public.claim_jobs(
  p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60, p_with_budget boolean default false
) returns setof public.jobs
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_role(array['service_role'], 'claim_jobs');
  if p_worker_id is null or btrim(p_worker_id) = '' or length(p_worker_id) > 200 then
    raise exception 'worker id is required (at most 200 characters)' using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 500 then
    raise exception 'limit must be between 1 and 500' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 5 or p_lease_seconds > 3600 then
    raise exception 'lease must be between 5 and 3600 seconds' using errcode = '22023';
  end if;
  perform private.set_actor('worker');

  -- An open circuit becomes half-open after its cool-down. Touches a row only at that moment.
  update public.model_health
     set circuit_state = 'half_open', half_open_at = now(), updated_at = now()
   where circuit_state = 'open' and opened_at <= now() - private.circuit_cooldown();

  return query
  with budget as (
    -- With the budget: per model with ready work, its whole tokens and its slots (all of the
    -- limit while closed, one probe while half-open and none running since it turned).
    select m.id,
           least(m.rate_per_minute::double precision,
                 h.budget_tokens + extract(epoch from now() - h.budget_refilled_at) * m.rate_per_minute / 60.0) as tokens,
           case when h.circuit_state = 'closed' then p_limit
                when not exists (
                  select 1 from public.jobs r
                   where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at) then 1
                else 0 end as slots
      from public.models m join public.model_health h on h.model_id = m.id
     where p_with_budget
       and m.enabled and not m.paused and h.circuit_state in ('closed', 'half_open')
       and (h.retry_after_until is null or h.retry_after_until <= now())
       and exists (select 1 from public.jobs q where q.status = 'queued' and q.run_at <= now() and q.model_id = m.id)
     order by m.id
       for update of h
  ), budget_pick as (
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
      from (select model_id, count(*) as n from budget_pick group by model_id) s
      join budget b on b.id = s.model_id
     where h.model_id = s.model_id
  ), ready_models as (
    -- Without the budget: every closed model's jobs in one ordered scan, and one probe per
    -- half-open model.
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused and h.circuit_state = 'closed'
       and (h.retry_after_until is null or h.retry_after_until <= now())
  ), probe_models as (
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where not p_with_budget
       and m.enabled and not m.paused and h.circuit_state = 'half_open'
       and (h.retry_after_until is null or h.retry_after_until <= now())
       and not exists (
         select 1 from public.jobs r
          where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at)
  ), ready_pick as (
    select j.id
      from public.jobs j
     where not p_with_budget
       and j.status = 'queued' and j.run_at <= now()
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
    select id from budget_pick
    union all
    (select id from ready_pick
     union all
     select id from probe_pick
     limit p_limit)
  )
  update public.jobs j
     set status = 'running',
         attempt = j.attempt + 1,
         lease_token = extensions.gen_random_uuid(),
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         worker_id = p_worker_id,
         attempted_at = now(),
         -- With the budget the worker calls Gemini at once: the owner sees it start.
         progress = case when p_with_budget then 5 else 0 end,
         stage = case when p_with_budget then 'generating' else 'claimed' end,
         updated_at = now()
    from picked
   where j.id = picked.id
  returning j.*;
end;
$$;
