-- What one job costs, part one: fewer round trips per job.
--
-- Before this, a job made six database calls before it was done: claim_jobs, a heartbeat to say
-- "generating", acquire_model_budget, record_provider_call, a heartbeat as the fence check
-- before the upload, complete_job (docs/benchmarks.md, "Worker"). Now it makes three:
--   * claim_jobs(..., p_with_budget => true) takes the model's rate budget for each job it hands
--     out, in the same statement, so the job's first Gemini call needs no call of its own. A
--     model without budget keeps its jobs queued (the next claim or the sweep takes them when it
--     refills) instead of handing them to a worker that would only wait or release them.
--     Without the flag (the default) claim_jobs is what it was: a bare queue claim.
--   * record_provider_call(..., p_lease_token, p_progress, p_stage, p_lease_seconds) records the
--     call and, fenced by the lease token, extends the lease and records progress in the same
--     transaction: it is the heartbeat and the fence check right before the upload.
--     Its reply says {"fenced": true} when the job is no longer the caller's.
-- The "generating" heartbeat goes: a claim with the budget puts the job at 'generating', 5 %,
-- which is what that heartbeat said, and its message tells the owner.
set local lock_timeout = '5s';

-- The signatures change (a new trailing parameter each): the old functions go, the new ones are
-- granted exactly as before.
drop function public.claim_jobs(text, integer, integer);
drop function public.record_provider_call(text, timestamptz, integer, text, integer, uuid, integer, numeric, integer, integer, text, numeric);

-- claim_jobs(p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60,
--            p_with_budget boolean default false) returns setof public.jobs
-- As in 20261123000600_claims_and_leases.sql (one statement, FOR UPDATE SKIP LOCKED, fresh
-- lease token, models skipped while disabled, paused, under a Retry-After or open, one probe
-- per half-open model), and with p_with_budget each claimed job also takes one token of its
-- model's budget (the token bucket of acquire_model_budget): a model yields at most as many
-- jobs as it has whole tokens, and its jobs start at stage 'generating', 5 % (the worker calls
-- the model at once). The budget rows of the models with ready work are locked in model
-- order for the rest of the transaction (two claimers of one model take turns for microseconds,
-- as two acquire_model_budget calls did; the order rules out a deadlock between claimers).
-- Errors: 42501 not service_role; 22023 bad limit (1..500), lease (5..3600 s) or worker id.
create function public.claim_jobs(
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
revoke all on function public.claim_jobs(text, integer, integer, boolean) from public, anon, authenticated;
grant execute on function public.claim_jobs(text, integer, integer, boolean) to service_role;

-- record_provider_call(p_model_id text, p_started_at timestamptz, p_duration_ms integer,
--   p_outcome text, p_http_status integer default null, p_job_id uuid default null,
--   p_attempt integer default null, p_retry_after_seconds numeric default null,
--   p_input_tokens integer default null, p_output_tokens integer default null,
--   p_worker_id text default null, p_cost_usd numeric default null,
--   p_lease_token uuid default null, p_progress integer default null, p_stage text default null,
--   p_lease_seconds integer default 60) returns jsonb   (service_role)
-- As in 20261123000800_models_and_provider_health.sql: the provider_calls row and the model's
-- circuit breaker. With p_job_id and p_lease_token it is also the job's heartbeat, exactly as
-- heartbeat_job: while the job runs under that token its lease is extended to now() +
-- p_lease_seconds and progress and stage are recorded; otherwise nothing of the job changes.
-- The call is recorded either way (the provider was paid whichever worker holds the job).
-- Returns {"call_id", "circuit_state", "consecutive_failures", "retry_after_until"} and, with a
-- lease token, "fenced": true|false.
-- Errors: 42501 not service_role; 22023 unknown model or outcome, missing start or duration,
--         progress outside 0..100, stage over 100 characters, bad lease; PT404 unknown job.
create function public.record_provider_call(
  p_model_id text, p_started_at timestamptz, p_duration_ms integer, p_outcome text,
  p_http_status integer default null, p_job_id uuid default null, p_attempt integer default null,
  p_retry_after_seconds numeric default null, p_input_tokens integer default null,
  p_output_tokens integer default null, p_worker_id text default null, p_cost_usd numeric default null,
  p_lease_token uuid default null, p_progress integer default null, p_stage text default null,
  p_lease_seconds integer default 60
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_model public.models;
  v_user uuid;
  v_id bigint;
  v_health public.model_health;
  v_reply jsonb;
begin
  perform private.require_role(array['service_role'], 'record_provider_call');
  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'unknown model "%"', coalesce(p_model_id, '') using errcode = '22023';
  end if;
  if p_outcome is null or p_outcome not in ('ok', 'rate_limited', 'server_error', 'timeout', 'client_error',
                                            'not_found', 'safety_blocked', 'network_error') then
    raise exception 'outcome must be one of ok, rate_limited, server_error, timeout, client_error, not_found, safety_blocked, network_error'
      using errcode = '22023';
  end if;
  if p_duration_ms is null or p_duration_ms < 0 or p_started_at is null then
    raise exception 'started_at and a non-negative duration_ms are required' using errcode = '22023';
  end if;
  if p_progress is not null and (p_progress < 0 or p_progress > 100) then
    raise exception 'progress must be between 0 and 100' using errcode = '22023';
  end if;
  if p_stage is not null and length(p_stage) > 100 then
    raise exception 'stage is too long: the limit is 100 characters' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 5 or p_lease_seconds > 3600 then
    raise exception 'lease must be between 5 and 3600 seconds' using errcode = '22023';
  end if;
  if p_job_id is not null then
    select user_id into v_user from public.jobs where id = p_job_id;
    if not found then
      raise exception 'job not found' using errcode = 'PT404';
    end if;
  end if;

  insert into public.provider_calls (job_id, user_id, attempt, model_id, worker_id, started_at, duration_ms,
    http_status, outcome, retry_after_ms, input_tokens, output_tokens, cost_usd)
  values (p_job_id, v_user, p_attempt, p_model_id, p_worker_id, p_started_at, p_duration_ms, p_http_status,
    p_outcome, (p_retry_after_seconds * 1000)::integer, p_input_tokens, p_output_tokens,
    coalesce(p_cost_usd, case when p_outcome = 'ok' then v_model.price_usd_per_call else 0 end))
  returning id into v_id;

  if p_outcome in ('server_error', 'timeout', 'network_error') then
    update public.model_health h
       set consecutive_failures = case when h.last_failure_at > now() - interval '60 seconds'
                                       then h.consecutive_failures + 1 else 1 end,
           last_failure_at = now(), updated_at = now()
     where model_id = p_model_id
    returning * into v_health;
    if v_health.circuit_state = 'half_open' or v_health.circuit_state = 'closed' and v_health.consecutive_failures >= 5 then
      update public.model_health
         set circuit_state = 'open', opened_at = now(), half_open_at = null, updated_at = now()
       where model_id = p_model_id
      returning * into v_health;
    end if;
  elsif p_outcome = 'ok' then
    update public.model_health
       set consecutive_failures = 0, circuit_state = 'closed', opened_at = null, half_open_at = null,
           last_success_at = now(), updated_at = now()
     where model_id = p_model_id
    returning * into v_health;
  elsif p_outcome = 'rate_limited' then
    update public.model_health
       set retry_after_until = greatest(coalesce(retry_after_until, now()),
                                        now() + make_interval(secs => coalesce(p_retry_after_seconds, 30))),
           updated_at = now()
     where model_id = p_model_id
    returning * into v_health;
  else
    select * into v_health from public.model_health where model_id = p_model_id;
  end if;

  v_reply := jsonb_build_object('call_id', v_id, 'circuit_state', v_health.circuit_state,
                                'consecutive_failures', v_health.consecutive_failures,
                                'retry_after_until', v_health.retry_after_until);
  if p_job_id is not null and p_lease_token is not null then
    update public.jobs
       set lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           progress = coalesce(p_progress, progress),
           stage = coalesce(p_stage, stage),
           updated_at = now()
     where id = p_job_id and lease_token = p_lease_token;
    v_reply := v_reply || jsonb_build_object('fenced', not found);
  end if;
  return v_reply;
end;
$$;
revoke all on function public.record_provider_call(text, timestamptz, integer, text, integer, uuid, integer, numeric, integer, integer, text, numeric, uuid, integer, text, integer)
  from public, anon, authenticated;
grant execute on function public.record_provider_call(text, timestamptz, integer, text, integer, uuid, integer, numeric, integer, integer, text, numeric, uuid, integer, text, integer)
  to service_role;
