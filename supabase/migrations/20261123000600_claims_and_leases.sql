-- Claiming jobs and the lease a running job holds (service_role only: the worker, and the
-- reaper on a schedule).
--
-- A claim hands each job a fresh lease token and a lease expiry. Every later call on the job
-- (heartbeat, complete, fail, release) is fenced by that token: it acts only while the job is
-- running under the same token. A worker whose lease expired and whose job was requeued or
-- reclaimed (a new token) changes nothing, and is told so in the result rather than by an error,
-- so it can log it and move on without treating its own lateness as a crash. The fence of
-- heartbeat, complete and fail is `id = $1 and lease_token = $2` alone: a job holds a lease
-- token exactly while it runs (constraint jobs_row_valid), so the token match implies
-- status = 'running', and every call is a primary-key lookup. Spelling out status = 'running'
-- as well let the planner pick the partial index of running jobs and scan every running job
-- per call.
-- The reaper is the lifeline for workers that died or timed out mid-job: expired leases go back
-- to the queue or, out of attempts or time, fail and are refunded.

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
revoke all on all functions in schema private from public;

-- claim_jobs(p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60)
--   returns setof public.jobs
-- Claims up to p_limit ready jobs in ONE statement: a CTE that selects queued jobs whose run_at
-- has passed, in (priority desc, run_at, id) order over the partial index, FOR UPDATE SKIP
-- LOCKED, then updates them to running. SKIP LOCKED is what makes concurrent claimers safe and
-- fast: each skips rows another claimer holds instead of waiting for it, so no job is handed to
-- two workers and no claimer blocks on another. Each claimed job gets a fresh lease token, a
-- lease of p_lease_seconds, attempt + 1 and the worker id.
-- Models that are disabled, paused, under a Retry-After, or whose circuit is open are skipped;
-- an open circuit turns half-open after its cool-down (private.circuit_cooldown), and a
-- half-open model yields at most one probe job while no other probe of it is running.
-- Errors: 42501 not service_role; 22023 bad limit (1..500), lease (5..3600 s) or worker id.
create function public.claim_jobs(p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60)
returns setof public.jobs
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
revoke all on function public.claim_jobs(text, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_jobs(text, integer, integer) to service_role;

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
--
-- Its own writes. This is the call every job makes, so it completes the job in one statement:
-- data-modifying CTEs over the UPDATE's RETURNING write the job's timeline row and its two
-- broadcasts, the very rows jobs_after_update would write (from running, since only a running job
-- holds the lease token; to succeeded; actor 'worker'; detail {}; the payloads of
-- private.job_changed_payload and private.user_job_changed_payload, nothing refunded). For that one statement it sets the transaction-local flag
-- jobhealth.events_written = 'on', and clears it after; jobs_after_update returns at once while
-- the flag is on, instead of starting a second statement for the one row the UPDATE already had
-- in hand (docs/benchmarks.md, Schema costs). The flag is set inside an exception block: if the
-- statement fails, the flag and the writes roll back together and the completion runs once more
-- as a plain UPDATE, where the trigger does everything as for any other update (a failing
-- broadcast then only warns, an error of the completion itself fails the call). Every other
-- update of jobs, a superuser's by hand included, goes through the trigger alone. The flag is
-- trusted like jobhealth.actor_role: no API role can run SQL to set it (PostgREST only sets
-- request.* settings).
create function public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
  v_own_writes boolean := true;
  v_done boolean;
begin
  v_status := private.require_role(array['service_role'], 'complete_job');
  loop
    begin
      if v_own_writes then
        v_status := set_config('jobhealth.events_written', 'on', true);
      else
        -- The plain UPDATE: the trigger writes the timeline and the broadcast, as the worker.
        perform private.set_actor('worker');
      end if;
      with done as (
        update public.jobs
           set status = 'succeeded', result = p_result, progress = 100, stage = 'done',
               lease_token = null, lease_expires_at = null, finished_at = now(), updated_at = now()
         where id = p_job_id and lease_token = p_lease_token
        returning id, user_id, model_id, attempt, progress, stage, error_class, result, updated_at
      ), events as (
        insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role)
        select d.id, d.user_id, d.model_id, 'running', 'succeeded', d.attempt, auth.uid(), 'worker'
          from done d
         where v_own_writes
      ), messages as (
        insert into realtime.messages (topic, extension, event, private, payload)
        select m.topic, 'broadcast', 'job_changed', true, m.payload
          from done d
         cross join lateral (values
           ('admin:jobs', private.job_changed_payload(d.id, d.user_id, d.model_id, 'succeeded', 'running', d.attempt,
                                                      d.progress, d.stage, d.error_class, d.updated_at)),
           ('user:' || d.user_id || ':jobs', private.user_job_changed_payload(d.id, 'succeeded', 'running', d.stage,
                                                      d.progress, d.attempt, d.error_class, d.result, 0, d.updated_at))
         ) m (topic, payload)
         where v_own_writes
      )
      select true into v_done from done;
      v_status := set_config('jobhealth.events_written', '', true);
      exit;
    exception when others then
      -- The flag was rolled back with the rest of the block.
      if not v_own_writes then
        raise;
      end if;
      v_own_writes := false;
    end;
  end loop;
  if v_done then
    return '{"outcome": "succeeded", "status": "succeeded"}'::jsonb;
  end if;
  select status into v_status from public.jobs where id = p_job_id;
  return jsonb_build_object('outcome', 'fenced', 'status', v_status);
end;
$$;

-- fail_job(p_job_id uuid, p_lease_token uuid, p_error_class text, p_message text,
--          p_retryable boolean default true, p_retry_after_seconds numeric default null) returns jsonb
-- A retryable failure with attempts left (and time before the deadline) goes back to queued with
-- run_at = now() + backoff; otherwise the job ends failed and its charge is refunded. The error is
-- appended to jobs.errors either way.
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

  v_refunded := private.refund_job(v_job, 'fail_job: ' || p_error_class);
  update public.jobs
     set status = 'failed', error_class = p_error_class, error_message = v_message, errors = errors || v_error,
         lease_token = null, lease_expires_at = null, finished_at = now(), stage = 'failed', updated_at = now()
   where id = p_job_id
  returning * into v_job;
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

-- release_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_delay_seconds numeric default 0,
--              p_reason text default 'released') returns jsonb
-- Hands claimed jobs back to the queue without counting the attempt against them: a worker
-- shutting down (the edge runtime's beforeunload), or one that found no rate budget for the
-- model before the job's attempt could start, did not fail the job, so it must not move the job
-- closer to its final failure. Pairs (job id, lease token) are fenced like every call here: a
-- pair whose lease already moved on changes nothing. The deadline still bounds how often a job
-- can come back (the reaper fails it once deadline_at passes), so releases cannot loop forever.
-- Calls made in a released attempt keep its number in provider_calls; the next claim reuses it.
-- Returns {"released": n, "fenced": m}.
-- Errors: 42501 not service_role; 22023 arrays of different length, over 500 pairs, bad delay.
create function public.release_jobs(
  p_job_ids uuid[], p_lease_tokens uuid[], p_delay_seconds numeric default 0, p_reason text default 'released'
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_released integer;
begin
  perform private.require_role(array['service_role'], 'release_jobs');
  if p_job_ids is null or p_lease_tokens is null or cardinality(p_job_ids) <> cardinality(p_lease_tokens) then
    raise exception 'job ids and lease tokens must be arrays of the same length' using errcode = '22023';
  end if;
  if cardinality(p_job_ids) > 500 then
    raise exception 'too many jobs: %, the limit is 500 per call', cardinality(p_job_ids) using errcode = '22023';
  end if;
  if p_delay_seconds is null or p_delay_seconds < 0 or p_delay_seconds > 3600 then
    raise exception 'delay must be between 0 and 3600 seconds' using errcode = '22023';
  end if;
  if cardinality(p_job_ids) = 0 then
    return jsonb_build_object('released', 0, 'fenced', 0);
  end if;
  perform private.set_actor('worker', left(coalesce(nullif(btrim(p_reason), ''), 'released'), 200));

  with pairs as (
    select t.id, t.token from unnest(p_job_ids, p_lease_tokens) as t (id, token)
  )
  update public.jobs j
     set status = 'queued',
         -- claim_jobs added one; this attempt never reached an outcome of its own.
         attempt = greatest(j.attempt - 1, 0),
         run_at = now() + make_interval(secs => p_delay_seconds),
         lease_token = null, lease_expires_at = null, worker_id = null,
         stage = 'released', updated_at = now()
    from pairs
   where j.id = pairs.id and j.status = 'running' and j.lease_token = pairs.token;
  get diagnostics v_released = row_count;
  return jsonb_build_object('released', v_released, 'fenced', cardinality(p_job_ids) - v_released);
end;
$$;
revoke all on function public.release_jobs(uuid[], uuid[], numeric, text) from public, anon, authenticated;
grant execute on function public.release_jobs(uuid[], uuid[], numeric, text) to service_role;

-- reap_expired_jobs(p_limit integer default 500) returns jsonb   (every minute:
-- 20261123001200_schedules_and_wakeup.sql)
--   * running jobs whose lease expired, with attempts left and time before the deadline, go back
--     to queued with backoff (error class 'lease_expired');
--   * running jobs whose lease expired on their last attempt, and queued or running jobs past
--     their deadline, end failed ('lease_expired' / 'deadline_exceeded') and are refunded.
-- Rows are taken FOR UPDATE SKIP LOCKED: a job some worker is completing right now is left for
-- the next run instead of being waited on. Returns {"requeued", "failed", "refunded_credits"}.
create function public.reap_expired_jobs(p_limit integer default 500)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_requeued integer := 0;
  v_failed integer := 0;
  v_refunded bigint := 0;
  v_job public.jobs;
  v_class text;
begin
  perform private.require_role(array['service_role'], 'reap_expired_jobs');
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'limit must be between 1 and 10000' using errcode = '22023';
  end if;
  perform private.set_actor('reaper');

  with expired as (
    select id from public.jobs
     where status = 'running' and lease_expires_at < now()
       and attempt < max_attempts and deadline_at > now()
     order by lease_expires_at
     limit p_limit
     for update skip locked
  )
  update public.jobs j
     set status = 'queued', run_at = now() + private.retry_delay(j.attempt), error_class = 'lease_expired',
         error_message = 'the worker''s lease expired before it finished',
         errors = j.errors || jsonb_build_object('attempt', j.attempt, 'at', now(), 'error_class', 'lease_expired',
                                                 'message', 'the worker''s lease expired before it finished'),
         lease_token = null, lease_expires_at = null, worker_id = null, stage = 'retry_scheduled', updated_at = now()
    from expired
   where j.id = expired.id;
  get diagnostics v_requeued = row_count;

  -- Final failures go one by one through the same refund path as every other failure.
  for v_job in
    select * from public.jobs
     where (status = 'running' and lease_expires_at < now() and (attempt >= max_attempts or deadline_at <= now()))
        or (status in ('queued', 'running') and deadline_at <= now())
     order by deadline_at
     limit p_limit
     for update skip locked
  loop
    v_class := case when v_job.deadline_at <= now() then 'deadline_exceeded' else 'lease_expired' end;
    v_refunded := v_refunded + private.refund_job(v_job, 'reaper: ' || v_class);
    update public.jobs
       set status = 'failed',
           error_class = v_class,
           error_message = case when v_class = 'deadline_exceeded' then 'the job passed its deadline'
                                else 'the worker''s lease expired on the last attempt' end,
           lease_token = null, lease_expires_at = null, finished_at = now(), stage = 'failed', updated_at = now()
     where id = v_job.id;
    v_failed := v_failed + 1;
  end loop;

  return jsonb_build_object('requeued', v_requeued, 'failed', v_failed, 'refunded_credits', v_refunded);
end;
$$;
revoke all on function public.reap_expired_jobs(integer) from public, anon, authenticated;
grant execute on function public.reap_expired_jobs(integer) to service_role;
