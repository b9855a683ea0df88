-- What one job costs, part eight: claim_jobs writes its own timeline rows and messages, and reads
-- the front of each model's queue, whatever the statistics say.
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
--
-- claim_jobs picked the next jobs with one scan over every ready model's queued jobs, ordered by
-- claim order, and Postgres chose how from jobs' statistics. On a 2-million-job history they are
-- taken once 200,000 rows change, so they describe the queue at some moment long past: taken
-- with a short queue, they led to a plan that read every queued job of the ready models and
-- sorted them, for each claim of 10. The growth benchmark's rounds of 6,000 jobs then spent
-- 0.7 to 0.8 ms of a claim's wall time per job against 0.2 to 0.3 on an empty database, and 1.3
-- times its Postgres CPU per job, with the same buffers (the queue's rows sit together, so each
-- page was read once and its rows many times); an empty database's own autoanalyze, catching
-- its queue short, did the same to it for some rounds (docs/benchmarks.md, Growth).
--
-- jobs_queue_by_model_idx holds the claim order after the model, (model_id, priority desc,
-- run_at, id), and the claim takes each ready model's front through it, at most p_limit jobs a
-- model: an ordered scan of one model's jobs in the index's own order has no cheaper rival, so
-- every plan stops after p_limit entries. The budgeted claim and the half-open probe, which
-- already ask per model, use it too. It replaces jobs_queued_model_idx (model_id, created_at),
-- whose users only ask for a model's queued jobs (the queue signal's probe, the sweep's check)
-- and are served by the new one as well. It also replaces jobs_claim_idx (priority desc, run_at,
-- id), which held the same order without the model: beside it, a model's scan had a rival of the
-- same estimated cost whenever the statistics saw one model in the queue (a backlog of one model,
-- as in the queue benchmark), and the planner took it, filtering by model. For a ready model with
-- nothing waiting that walked the whole queue of the others: 1,556 buffers a claim of one job
-- against 62, one job at a time at a third of the rate. job_queue_position counts the jobs ahead
-- through the new index too, its own model's only. So enqueues write one index entry fewer.
-- Everything else is as in 20261207500100_job_cost_claim_and_record.sql: the contract, the role
-- check, the budget, the lease.
set local lock_timeout = '5s';

-- Built in place, holding off writes to jobs while it reads the table (CONCURRENTLY cannot run
-- in a migration's transaction, .squawk.toml); the index holds only the queued jobs, but the
-- build reads every row. A project with production rows builds it by hand with CREATE INDEX
-- CONCURRENTLY first (same name; this then finds it) and drops the old ones the same way.
-- squawk-ignore require-concurrent-index-creation
create index if not exists jobs_queue_by_model_idx on public.jobs (model_id, priority desc, run_at, id) where status = 'queued';
-- squawk-ignore require-concurrent-index-deletion
drop index if exists public.jobs_queued_model_idx;
-- squawk-ignore require-concurrent-index-deletion
drop index if exists public.jobs_claim_idx;

-- claim_jobs: the contract above it in 20261207500100_job_cost_claim_and_record.sql; the claimed
-- jobs' timeline rows and messages written by the claim itself; each ready model's front taken
-- on its own, on
-- generic plans (plan_cache_mode): with p_limit inside each model's scan, PL/pgSQL judged the
-- generic plan dearer than the custom ones and planned the claim again on every call, some
-- 0.6 ms of a claim of one job (the queue benchmark one at a time: 885 against 1,169 jobs/s in
-- the same minutes). The generic plan is safe here for the reason the scans are per model: the
-- only index in claim order is the model's own, and each scan stops at the limit.
create or replace function public.claim_jobs(
  p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60, p_with_budget boolean default false
) returns setof public.jobs
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
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
             -- A probe in the order of the model's queue index, as the queue signal's
             -- (private.queue_moved_signals): unordered, it could be a sequential scan from the
             -- table's start whenever the statistics saw many jobs waiting.
             and (select true from public.jobs q
                   where q.status = 'queued' and q.model_id = m.id and q.run_at <= now()
                   order by q.priority desc, q.run_at, q.id
                   limit 1)
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
          -- The front of each ready model's queue through jobs_queue_by_model_idx, in claim
          -- order, at most p_limit jobs a model, then the best p_limit of those. Each scan stops
          -- at p_limit whatever the statistics say; one scan over every ready model's jobs at
          -- once could be planned (and was, with statistics taken when the queue was short) as a
          -- read and a sort of the whole queue. Locks taken on a model's jobs beyond the first
          -- p_limit overall are held until commit, as in the budgeted form above.
          select p.id
            from ready_models rm
           cross join lateral (
             select j.id, j.priority, j.run_at from public.jobs j
              where j.status = 'queued' and j.run_at <= now() and j.model_id = rm.id
              order by j.priority desc, j.run_at, j.id
              limit p_limit
                for update skip locked) p
           order by p.priority desc, p.run_at, p.id
           limit p_limit
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
