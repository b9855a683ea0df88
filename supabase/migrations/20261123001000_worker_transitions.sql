-- The worker's calls on a claimed job: heartbeat_job, complete_job, fail_job (service_role only).
-- Each is fenced by the lease token claim_jobs handed out: it acts only while the job is running
-- under that same token. A worker whose lease expired and whose job was requeued or reclaimed
-- (new token) changes nothing; it is told so in the result rather than by an error, so a worker
-- can log it and move on without treating its own lateness as a crash.
-- The fence is `id = $1 and lease_token = $2` alone: a job holds a lease token exactly while it
-- runs (constraint jobs_lease_iff_running), so the token match implies status = 'running'.
-- Spelling out status = 'running' as well let the planner pick the partial index of running jobs
-- and scan every running job per call (1 ms a call with 500 running, when the statistics were
-- taken with none); without it every call is a primary-key lookup.

-- Exponential backoff with jitter: least(10 min, 5 s * 2^(attempt-1)) scaled by 0.5..1.0, and
-- never sooner than a Retry-After the provider asked for. Jitter spreads the retries of a burst
-- that failed together (a 503 wave) instead of replaying the burst.
create function private.retry_delay(p_attempt integer, p_retry_after_seconds numeric default null)
returns interval
language sql volatile
as $$
  select make_interval(secs => greatest(
    least(600, 5 * power(2, greatest(p_attempt, 1) - 1)) * (0.5 + random() * 0.5),
    coalesce(p_retry_after_seconds, 0)))
$$;

-- heartbeat_job(p_job_id uuid, p_lease_token uuid, p_progress integer default null,
--               p_stage text default null, p_lease_seconds integer default 60) returns jsonb
-- Extends the lease to now() + p_lease_seconds and records progress (0-100) and stage.
-- Returns {"fenced": false, "lease_expires_at": ...} or {"fenced": true, "status": <current or null>}.
-- Errors: 42501 not service_role; 22023 progress outside 0..100, stage over 100 chars, bad lease.
create function public.heartbeat_job(
  p_job_id uuid, p_lease_token uuid, p_progress integer default null, p_stage text default null,
  p_lease_seconds integer default 60
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_expires timestamptz;
  v_status text;
begin
  perform private.require_role(array['service_role'], 'heartbeat_job');
  if p_progress is not null and (p_progress < 0 or p_progress > 100) then
    raise exception 'progress must be between 0 and 100' using errcode = '22023';
  end if;
  if p_stage is not null and length(p_stage) > 100 then
    raise exception 'stage is too long: the limit is 100 characters' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 5 or p_lease_seconds > 3600 then
    raise exception 'lease must be between 5 and 3600 seconds' using errcode = '22023';
  end if;
  update public.jobs
     set lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         progress = coalesce(p_progress, progress),
         stage = coalesce(p_stage, stage),
         updated_at = now()
   where id = p_job_id and lease_token = p_lease_token
  returning lease_expires_at into v_expires;
  if found then
    return jsonb_build_object('fenced', false, 'lease_expires_at', v_expires);
  end if;
  select status into v_status from public.jobs where id = p_job_id;
  return jsonb_build_object('fenced', true, 'status', v_status);
end;
$$;

-- complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null) returns jsonb
-- running -> succeeded. Returns {"outcome": "succeeded", "status": "succeeded"} or
-- {"outcome": "fenced", "status": <current or null>} (nothing changed).
-- Errors: 42501 not service_role.
create function public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  perform private.require_role(array['service_role'], 'complete_job');
  perform private.set_actor('worker');
  update public.jobs
     set status = 'succeeded', result = p_result, progress = 100, stage = 'done',
         lease_token = null, lease_expires_at = null, finished_at = now(), updated_at = now()
   where id = p_job_id and lease_token = p_lease_token;
  if found then
    return '{"outcome": "succeeded", "status": "succeeded"}'::jsonb;
  end if;
  select status into v_status from public.jobs where id = p_job_id;
  return jsonb_build_object('outcome', 'fenced', 'status', v_status);
end;
$$;

-- fail_job(p_job_id uuid, p_lease_token uuid, p_error_class text, p_message text,
--          p_retryable boolean default true, p_retry_after_seconds numeric default null) returns jsonb
-- A retryable failure with attempts left (and time before the deadline) goes back to queued with
-- run_at = now() + backoff; otherwise the job ends failed and its charge is refunded.
-- Returns {"outcome": "retry_scheduled"|"failed"|"fenced", "status", "attempt", "run_at",
--          "refunded_credits"}.
-- Errors: 42501 not service_role; 22023 missing error class or negative Retry-After.
create function public.fail_job(
  p_job_id uuid, p_lease_token uuid, p_error_class text, p_message text,
  p_retryable boolean default true, p_retry_after_seconds numeric default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_delay interval;
  v_refunded integer := 0;
  v_message text := left(coalesce(p_message, ''), 2000);
  v_error jsonb;
begin
  perform private.require_role(array['service_role'], 'fail_job');
  if p_error_class is null or btrim(p_error_class) = '' or length(p_error_class) > 64 then
    raise exception 'error class is required (at most 64 characters)' using errcode = '22023';
  end if;
  if p_retry_after_seconds is not null and p_retry_after_seconds < 0 then
    raise exception 'retry after must not be negative' using errcode = '22023';
  end if;
  perform private.set_actor('worker');

  select * into v_job from public.jobs
   where id = p_job_id and lease_token = p_lease_token
   for update;
  if not found then
    return jsonb_build_object('outcome', 'fenced', 'status', (select status from public.jobs where id = p_job_id));
  end if;

  v_error := jsonb_build_object('attempt', v_job.attempt, 'at', now(), 'error_class', p_error_class, 'message', v_message);
  v_delay := private.retry_delay(v_job.attempt, p_retry_after_seconds);
  if coalesce(p_retryable, true) and v_job.attempt < v_job.max_attempts and now() + v_delay < v_job.deadline_at then
    update public.jobs
       set status = 'queued', run_at = now() + v_delay, error_class = p_error_class, error_message = v_message,
           errors = errors || v_error, lease_token = null, lease_expires_at = null, worker_id = null,
           stage = 'retry_scheduled', updated_at = now()
     where id = p_job_id
    returning * into v_job;
    return jsonb_build_object('outcome', 'retry_scheduled', 'status', 'queued', 'attempt', v_job.attempt,
                              'run_at', v_job.run_at, 'refunded_credits', 0);
  end if;

  update public.jobs
     set status = 'failed', error_class = p_error_class, error_message = v_message, errors = errors || v_error,
         lease_token = null, lease_expires_at = null, finished_at = now(), stage = 'failed', updated_at = now()
   where id = p_job_id
  returning * into v_job;
  v_refunded := private.refund_job(v_job, 'fail_job: ' || p_error_class);
  return jsonb_build_object('outcome', 'failed', 'status', 'failed', 'attempt', v_job.attempt,
                            'run_at', null, 'refunded_credits', v_refunded);
end;
$$;

revoke all on function public.heartbeat_job(uuid, uuid, integer, text, integer) from public, anon, authenticated;
revoke all on function public.complete_job(uuid, uuid, jsonb) from public, anon, authenticated;
revoke all on function public.fail_job(uuid, uuid, text, text, boolean, numeric) from public, anon, authenticated;
grant execute on function public.heartbeat_job(uuid, uuid, integer, text, integer) to service_role;
grant execute on function public.complete_job(uuid, uuid, jsonb) to service_role;
grant execute on function public.fail_job(uuid, uuid, text, text, boolean, numeric) to service_role;
