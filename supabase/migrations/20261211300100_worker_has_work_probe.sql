-- The sweep's check for work probes each model's queue in its index's order.
--
-- private.job_worker_has_work() (20261209400100_erasure_sweep_and_backoff.sql) asked whether a
-- ready model had a runnable job with an unordered EXISTS. Like the queue signal's check before
-- 20261211100100_admin_jobs_message_cost.sql, that can be planned as a sequential scan whenever
-- the statistics see many jobs waiting, and a sequential scan reads the table from its start: on
-- a long history, finished jobs and the ones claimed since the last vacuum, before the first
-- waiting job. The sweep asks every few seconds, so that would be the idle cost of a busy
-- project's history. It is now the claim's own probe: the model's first waiting job in the
-- order of jobs_queue_by_model_idx (20261211200200_claim_front_of_each_queue.sql). Otherwise as
-- it was.
set local lock_timeout = '5s';

-- private.job_worker_has_work() returns boolean: whether an invocation would find work now, a
-- job claim_jobs would take or an erasure claim_object_erasures would take. One index probe of
-- the queued jobs per ready model and, when none, a look at the erasure queue (empty or nearly
-- so: rows leave it when their objects are removed); no row is locked.
create or replace function private.job_worker_has_work() returns boolean
language sql stable
set search_path = ''
as $$
  select exists (
    select 1
      from public.models m
      join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused
       and (h.retry_after_until is null or h.retry_after_until <= now())
       and (h.circuit_state <> 'open' or h.opened_at <= now() - private.circuit_cooldown())
       and (select true from public.jobs j
             where j.status = 'queued' and j.model_id = m.id and j.run_at <= now()
             order by j.priority desc, j.run_at, j.id
             limit 1))
    or exists (select 1 from private.object_erasures e where e.claimed_until is null or e.claimed_until < now())
$$;
