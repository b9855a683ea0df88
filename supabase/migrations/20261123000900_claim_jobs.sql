-- claim_jobs(p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60)
--   returns setof public.jobs   (service_role only)
-- Claims up to p_limit ready jobs in ONE statement: a CTE that selects queued jobs whose run_at
-- has passed, in (priority desc, run_at, id) order over the partial index, FOR UPDATE SKIP
-- LOCKED, then updates them to running. SKIP LOCKED is what makes concurrent claimers safe and
-- fast: each skips rows another claimer holds instead of waiting for it, so no job is handed to
-- two workers and no claimer blocks on another. Each claimed job gets a fresh lease token, a
-- lease of p_lease_seconds, attempt + 1 and the worker id.
-- Models that are disabled, paused, under a Retry-After, or whose circuit is open are skipped;
-- a half-open model yields at most one probe job while no other probe of it is running.
-- Errors: 42501 not service_role; 22023 bad limit (1..500), lease (5..3600 s) or worker id.
create function private.circuit_cooldown() returns interval
language sql immutable
as $$ select interval '30 seconds' $$;

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
