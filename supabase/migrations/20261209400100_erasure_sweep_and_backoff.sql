-- Queued object erasures are work for the sweep, and a failing one backs off.
--
-- The sweep asked private.job_worker_has_work() only about jobs, so an erasure batch that failed
-- (Storage refused or was down) stayed queued until something else woke the worker: a new job,
-- or the next deletion. Now the sweep also invokes the worker when an erasure is claimable: one
-- never claimed, or one whose claim ran out (a batch that failed). With nothing queued the answer
-- is still false, so an idle project still costs no invocation.
--
-- A claim used to last five minutes whatever happened before, so an object Storage can never
-- remove would be claimed, fail and wake the worker every five minutes for ever. Each claim now
-- counts (attempts) and lasts five minutes doubled per earlier attempt, at most a day: 5, 10, 20,
-- 40 minutes ... then once a day. An object that is removed is deleted from the queue by
-- finish_object_erasures, as before; claim_object_erasures is otherwise as in
-- 20261206000200_user_deletion.sql and job_worker_has_work as in
-- 20261207500200_job_cost_messages_and_sweep.sql.
set local lock_timeout = '5s';

alter table private.object_erasures add column attempts integer not null default 0;

create or replace function public.claim_object_erasures(p_limit integer default 100)
returns table (id bigint, bucket_id text, name text)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_role(array['service_role'], 'claim_object_erasures');
  return query
    update private.object_erasures e
       set claimed_until = now() + least(interval '5 minutes' * power(2, least(e.attempts, 16)), interval '1 day'),
           attempts = e.attempts + 1
     where e.id in (select q.id from private.object_erasures q
                     where q.claimed_until is null or q.claimed_until < now()
                     order by q.id limit least(greatest(p_limit, 1), 1000)
                     for update skip locked)
    returning e.id, e.bucket_id, e.name;
end;
$$;

-- private.job_worker_has_work() returns boolean: whether an invocation would find work now, a
-- job claim_jobs would take or an erasure claim_object_erasures would take. One index probe of
-- the queued jobs per ready model (jobs_queued_model_idx) and, when none, a look at the erasure
-- queue (empty or nearly so: rows leave it when their objects are removed); no row is locked.
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
       and exists (select 1 from public.jobs j where j.status = 'queued' and j.run_at <= now() and j.model_id = m.id))
    or exists (select 1 from private.object_erasures e where e.claimed_until is null or e.claimed_until < now())
$$;
revoke all on function private.job_worker_has_work() from public;
