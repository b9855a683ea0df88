-- What one job costs, part eight: claim_jobs writes its own timeline rows and messages.
--
-- A claim's UPDATE fired the jobs_after_update statement trigger, which started a second
-- statement of its own (a PL/pgSQL call, the transition tables captured and joined, the
-- transition check) to write what the claim already knows: every claimed job went from queued to
-- running, under this worker's lease. In callgrind that trigger was the largest single piece of
-- a job claimed and completed one at a time (docs/benchmarks.md, "The claim and the completion,
-- piece by piece"). complete_jobs already writes its own rows and makes the trigger stand down
-- (jobhealth.events_written, 20261209300100_complete_jobs.sql); claim_jobs now does the same:
-- the timeline rows (private.job_event_detail, the trigger's detail), the owners' job_changed
-- (private.user_job_changed_payload), staff's jobs_changed (private.admin_job_entry and
-- private.admin_jobs_payloads) and the queue signal (private.queue_moved_signals), all in one
-- INSERT after the UPDATE, each row shape from the function the trigger uses.
-- If those writes fail, the claim is made again as a plain UPDATE and the trigger writes them, as
-- complete_jobs falls back. The claimed rows are returned after the block (RETURN QUERY inside it
-- would keep rows the block's rollback took back).
-- The role is checked by an assignment instead of PERFORM (a PERFORM runs a SELECT through the
-- executor), and the claimed rows are returned one by one from the array without a statement.
-- Everything else is as in 20261207500100_job_cost_claim_and_record.sql: the contract, the role
-- check, the picking, the budget, the lease.
set local lock_timeout = '5s';

-- claim_jobs: as in 20261207500100_job_cost_claim_and_record.sql (contract above it there), the
-- timeline rows and messages written by the claim itself.
create or replace function public.claim_jobs(
  p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60, p_with_budget boolean default false
) returns setof public.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_claimed public.jobs[];
  v_job public.jobs;
  v_own_writes boolean := true;
  v_ignored text;
begin
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
  perform private.set_actor('worker');

  -- An open circuit becomes half-open after its cool-down. Touches a row only at that moment.
  update public.model_health
     set circuit_state = 'half_open', half_open_at = now(), updated_at = now()
   where circuit_state = 'open' and opened_at <= now() - private.circuit_cooldown();

  -- The claim writes the claimed jobs' timeline rows and messages itself, set-based, and the jobs
  -- trigger stands down for its UPDATE (jobhealth.events_written), as complete_jobs does. If
  -- those writes fail, the claim is made once more as a plain UPDATE, and the trigger writes them
  -- (with its own fallback: a failed broadcast never fails the claim).
  loop
    begin
      if v_own_writes then
        v_ignored := set_config('jobhealth.events_written', 'on', true);
      end if;
      if p_with_budget then
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
        ), claimed as (
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
          returning j
        )
        select array_agg(c.j) into v_claimed from claimed c;
      else
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
        ), claimed as (
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
          returning j
        )
        select array_agg(c.j) into v_claimed from claimed c;
      end if;
      if v_own_writes and v_claimed is not null then
        -- Read after the UPDATE, in a statement of its own: the queue signal's probe must not
        -- see the claimed jobs as still waiting.
        with c as (
          select * from unnest(v_claimed)
        ), events as (
          insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role, detail)
          select c.id, c.user_id, c.model_id, 'queued', 'running', c.attempt,
                 nullif(current_setting('jobhealth.actor_id', true), '')::uuid, 'worker',
                 private.job_event_detail('running', 'queued', c.worker_id, c.lease_expires_at, c.run_at,
                                          c.error_class, c.error_message)
            from c
        )
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'user:' || c.user_id || ':jobs', 'broadcast', 'job_changed', true,
               private.user_job_changed_payload(c.id, 'running', 'queued', c.stage, c.progress, c.attempt,
                                                c.error_class, c.result, 0, c.updated_at)
          from c
        union all
        select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
          from (select array_agg(private.admin_job_entry(c.id, c.model_id, 'running', 'queued', c.attempt,
                                                         c.progress, c.stage, c.error_class, c.updated_at)) as entries
                  from c) e
         cross join lateral private.admin_jobs_payloads(e.entries) p
        union all
        select s.topic, 'broadcast', 'queue_moved', true, s.payload
          from (select array_agg(distinct c.model_id) as models from c) m
         cross join lateral private.queue_moved_signals(m.models) s;
      end if;
      v_ignored := set_config('jobhealth.events_written', '', true);
      exit;
    exception when others then
      -- The flag was rolled back with the rest of the block.
      if not v_own_writes then
        raise;
      end if;
      v_own_writes := false;
    end;
  end loop;
  -- The claimed rows, each returned without a statement.
  if v_claimed is not null then
    foreach v_job in array v_claimed loop
      return next v_job;
    end loop;
  end if;
end;
$$;
