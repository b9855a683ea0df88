-- The models and the provider's health, shared by every worker through Postgres: the record of
-- each Gemini call, the circuit breaker and rate budget per model (public.model_health), and the
-- registry operations of the admin console and the worker.

-- How long an open circuit stays open before claim_jobs turns it half-open and lets one probe
-- job through.
create function private.circuit_cooldown() returns interval
language sql immutable
as $$ select interval '30 seconds' $$;
revoke all on all functions in schema private from public;

-- record_provider_call(p_model_id text, p_started_at timestamptz, p_duration_ms integer,
--   p_outcome text, p_http_status integer default null, p_job_id uuid default null,
--   p_attempt integer default null, p_retry_after_seconds numeric default null,
--   p_input_tokens integer default null, p_output_tokens integer default null,
--   p_worker_id text default null, p_cost_usd numeric default null) returns jsonb   (service_role)
-- Inserts the provider_calls row (cost defaults to the model's price for a successful call) and
-- moves the model's circuit breaker:
--   * server_error / timeout / network_error: consecutive failures + 1 (a failure more than
--     60 s after the previous one starts the count again); the 5th within that window opens the
--     circuit. A failed half-open probe re-opens it.
--   * ok: failures reset, the circuit closes (this is how a half-open probe closes it).
--   * rate_limited: sets retry_after_until (Retry-After, default 30 s); the circuit is untouched,
--     a 429 says "slow down", not "broken".
--   * client_error / not_found / safety_blocked: about the request, not the provider's health.
-- Returns {"call_id", "circuit_state", "consecutive_failures", "retry_after_until"}.
-- Errors: 42501 not service_role; 22023 unknown model or outcome, missing start or duration;
--         PT404 unknown job.
-- Five in a row within a minute: one 503 is noise, five consecutive calls failing means every
-- further call would wait its full timeout for nothing.
create function public.record_provider_call(
  p_model_id text, p_started_at timestamptz, p_duration_ms integer, p_outcome text,
  p_http_status integer default null, p_job_id uuid default null, p_attempt integer default null,
  p_retry_after_seconds numeric default null, p_input_tokens integer default null,
  p_output_tokens integer default null, p_worker_id text default null, p_cost_usd numeric default null
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

  return jsonb_build_object('call_id', v_id, 'circuit_state', v_health.circuit_state,
                            'consecutive_failures', v_health.consecutive_failures,
                            'retry_after_until', v_health.retry_after_until);
end;
$$;

-- acquire_model_budget(p_model_id text, p_n integer default 1) returns jsonb   (service_role)
-- A token bucket per model shared by all workers: capacity rate_per_minute, refilled at
-- rate_per_minute / 60 per second. Returns {"granted": true} or {"granted": false,
-- "wait_seconds": n} (also while a 429's Retry-After is in force). The row lock serialises
-- workers of one model for the microseconds of the update, never across a provider call.
create function public.acquire_model_budget(p_model_id text, p_n integer default 1)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rate integer;
  v_health public.model_health;
  v_tokens double precision;
begin
  perform private.require_role(array['service_role'], 'acquire_model_budget');
  if p_n is null or p_n < 1 or p_n > 1000 then
    raise exception 'n must be between 1 and 1000' using errcode = '22023';
  end if;
  select rate_per_minute into v_rate from public.models where id = p_model_id;
  if not found then
    raise exception 'unknown model "%"', coalesce(p_model_id, '') using errcode = '22023';
  end if;
  select * into v_health from public.model_health where model_id = p_model_id for update;
  if v_health.retry_after_until > now() then
    return jsonb_build_object('granted', false,
      'wait_seconds', round(extract(epoch from v_health.retry_after_until - now())::numeric, 3));
  end if;
  v_tokens := least(v_rate::double precision,
    v_health.budget_tokens + extract(epoch from now() - v_health.budget_refilled_at) * v_rate / 60.0);
  if v_tokens >= p_n then
    update public.model_health set budget_tokens = v_tokens - p_n, budget_refilled_at = now()
     where model_id = p_model_id;
    return jsonb_build_object('granted', true);
  end if;
  update public.model_health set budget_tokens = v_tokens, budget_refilled_at = now() where model_id = p_model_id;
  return jsonb_build_object('granted', false,
    'wait_seconds', round(((p_n - v_tokens) * 60.0 / v_rate)::numeric, 3));
end;
$$;

revoke all on function public.record_provider_call(text, timestamptz, integer, text, integer, uuid, integer, numeric, integer, integer, text, numeric)
  from public, anon, authenticated;
revoke all on function public.acquire_model_budget(text, integer) from public, anon, authenticated;
grant execute on function public.record_provider_call(text, timestamptz, integer, text, integer, uuid, integer, numeric, integer, integer, text, numeric)
  to service_role;
grant execute on function public.acquire_model_budget(text, integer) to service_role;

-- Registry operations. Each staff one takes a reason and is audited.
--
-- disable_model(p_model_id text, p_reason text) returns jsonb   (admin, service_role)
-- Disables the model (create_job refuses it, claim_jobs skips it) and fails-and-refunds its
-- queued jobs in the same transaction, so nobody waits on a model that will never run. The
-- worker calls it when the provider answers 404 for the model id. Returns
-- {"model_id", "failed_jobs", "refunded_credits"}. Errors: 42501, 22023 reason, PT404 no model.
create function public.disable_model(p_model_id text, p_reason text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin', 'service_role'], 'disable_model');
  v_reason text := private.check_reason(p_reason);
  v_job public.jobs;
  v_ids uuid[] := '{}';
  v_refunded bigint := 0;
begin
  perform private.set_actor(v_role, v_reason);
  update public.models set enabled = false, disabled_reason = v_reason, updated_at = now() where id = p_model_id;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  for v_job in
    select * from public.jobs where model_id = p_model_id and status = 'queued' order by id for update
  loop
    v_refunded := v_refunded + private.refund_job(v_job, 'disable_model: ' || v_reason);
    update public.jobs
       set status = 'failed', error_class = 'model_disabled', error_message = v_reason,
           finished_at = now(), stage = 'failed', updated_at = now()
     where id = v_job.id;
    v_ids := v_ids || v_job.id;
  end loop;
  perform private.write_audit('disable_model', v_ids, v_reason, null, null, v_refunded, null,
                              jsonb_build_object('model_id', p_model_id, 'failed_jobs', cardinality(v_ids)));
  return jsonb_build_object('model_id', p_model_id, 'failed_jobs', cardinality(v_ids), 'refunded_credits', v_refunded);
end;
$$;

-- set_model_paused(p_model_id text, p_paused boolean, p_reason text) returns public.models   (admin)
-- A paused model keeps accepting jobs, which wait queued until it is resumed.
create function public.set_model_paused(p_model_id text, p_paused boolean, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'set_model_paused');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  if p_paused is null then
    raise exception 'paused must be true or false' using errcode = '22023';
  end if;
  update public.models set paused = p_paused, updated_at = now() where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  perform private.write_audit(case when p_paused then 'pause_model' else 'resume_model' end, '{}', v_reason,
                              null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  return v_model;
end;
$$;

-- set_model_verification(p_model_id text, p_state text, p_detail text default null)
--   returns public.models   (service_role: the worker, after checking the id with the provider)
create function public.set_model_verification(p_model_id text, p_state text, p_detail text default null)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_model public.models;
begin
  perform private.require_role(array['service_role'], 'set_model_verification');
  if p_state is null or p_state not in ('unverified', 'verified', 'failed') then
    raise exception 'state must be one of unverified, verified, failed' using errcode = '22023';
  end if;
  update public.models
     set verification_state = p_state, verification_detail = left(p_detail, 1000), verified_at = now(), updated_at = now()
   where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  return v_model;
end;
$$;

revoke all on function public.disable_model(text, text) from public, anon;
revoke all on function public.set_model_paused(text, boolean, text) from public, anon, service_role;
revoke all on function public.set_model_verification(text, text, text) from public, anon, authenticated;
grant execute on function public.disable_model(text, text) to authenticated, service_role;
grant execute on function public.set_model_paused(text, boolean, text) to authenticated;
grant execute on function public.set_model_verification(text, text, text) to service_role;

-- enable_model(p_model_id text, p_reason text) returns public.models   (admin)
-- Turns a disabled model back on and clears disabled_reason. Jobs it failed while disabled stay
-- failed (they were refunded; an admin can retry them). The model is marked unverified, so the
-- worker checks the id with the provider again before trusting it: it was most likely disabled
-- because the provider did not know it.
--
-- request_model_verification(p_model_id text, p_reason text) returns public.models   (admin)
-- "Verify now": marks the model unverified and wakes the worker (NOTIFY job_dispatch), whose
-- verification path (models.get) checks every enabled, unverified model and records the answer
-- with set_model_verification; a 404 disables the model as at cold start. Errors for both:
-- 42501 not admin; 22023 reason missing or too long; PT404 no such model; 22023 verifying a
-- disabled model (enable it first: the worker checks enabled models only).
create function public.enable_model(p_model_id text, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'enable_model');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  perform private.set_actor(v_role, v_reason);
  update public.models
     set enabled = true, disabled_reason = null, verification_state = 'unverified',
         verification_detail = 'enabled again: waiting for the worker to verify it', updated_at = now()
   where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  perform private.write_audit('enable_model', '{}', v_reason, null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  perform pg_notify('job_dispatch', '');
  return v_model;
end;
$$;

create function public.request_model_verification(p_model_id text, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'request_model_verification');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  select * into v_model from public.models where id = p_model_id for update;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  if not v_model.enabled then
    raise exception 'model "%" is disabled: enable it first', p_model_id using errcode = '22023';
  end if;
  perform private.set_actor(v_role, v_reason);
  update public.models
     set verification_state = 'unverified', verification_detail = 'verification requested', updated_at = now()
   where id = p_model_id returning * into v_model;
  perform private.write_audit('verify_model', '{}', v_reason, null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  perform pg_notify('job_dispatch', '');
  return v_model;
end;
$$;

revoke all on function public.enable_model(text, text) from public, anon, service_role;
revoke all on function public.request_model_verification(text, text) from public, anon, service_role;
grant execute on function public.enable_model(text, text) to authenticated;
grant execute on function public.request_model_verification(text, text) to authenticated;
