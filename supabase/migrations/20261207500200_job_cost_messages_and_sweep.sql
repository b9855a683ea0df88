-- What one job costs, part two: fewer live messages, and no worker invocation without work.
--
-- Messages. Every heartbeat used to send two messages, one to the console's topic and one to the
-- owner's, so a job sent 11 (docs/benchmarks.md). Now:
--   * admin:jobs no longer carries a running job's progress: it gets new jobs, changes of status
--     and every change of a job that is not running (a deleted job's content, say). The
--     console's live views (System Health, the job explorer, job detail) show status, attempt
--     and error from these; a job's progress bar is the owner's view.
--   * the owner's topic gets all of that too, and a running job's progress at most once a
--     second per job: a running job whose previous update is less than a second old sends no
--     progress message (the next change of status, or the next beat, says where it is).
-- jobs_after_update is otherwise as in 20261123000300_job_state_machine.sql.
--
-- The sweep. With nothing to do, the sweep invoked the worker every 10 seconds anyway (8,640
-- invocations a day on an empty queue). private.job_worker_has_work() says whether a claim would
-- find a job: one queued with run_at passed whose model is enabled, not paused, not under a
-- Retry-After, and whose circuit is closed, half-open or due to turn half-open. The pg_cron sweep
-- (hosted) and the local scheduler's sweep invoke the worker only when it answers true. The
-- wake-up on enqueue is untouched (NOTIFY and pg_net), so a new job starts as fast as before.
-- An expired lease alone is no reason to invoke: the reaper (every minute) puts the job back in
-- the queue, and from then on it is runnable work like any other.
set local lock_timeout = '5s';

create or replace function private.jobs_after_update() returns trigger
language plpgsql
as $$
declare
  v_broadcast boolean := true;
  v_broadcast_error text;
  v_wake boolean;
  v_models text[];
begin
  if current_setting('jobhealth.events_written', true) = 'on' then
    return null;
  end if;
  -- The transition check, the timeline, the broadcasts and the wake-up decision in one
  -- statement over one join of the transition tables; the queue signal, needed only when jobs
  -- left the queue, in a second one. If it fails, it is run once more without
  -- the broadcasts: if that succeeds, the broadcast was the cause and only a warning remains;
  -- if it fails again, the cause was the transition itself and that error fails the statement.
  loop
    begin
      with changed as (
        select n.id, n.user_id, n.model_id, o.status as old_status, n.status, n.attempt, n.progress, n.stage,
               n.worker_id, n.lease_expires_at, n.run_at, n.error_class, n.error_message, n.updated_at,
               n.result, n.charge_seq, o.updated_at as old_updated_at
          from new_jobs n join old_jobs o on o.id = n.id
      ), events as (
        insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role, detail)
        select c.id, c.user_id, c.model_id, c.old_status,
               case when private.job_transition_allowed(c.old_status, c.status) then c.status
                    else private.refuse_job_transition(c.old_status, c.status) end,
               c.attempt,
               nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
               coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'),
               -- Only what the transition is about: the lease for a claim, the error (and the
               -- retry time) for a failure, and the staff member's reason when there is one.
               jsonb_strip_nulls(case
                 when c.status = 'running' then jsonb_build_object(
                   'worker_id', c.worker_id, 'lease_expires_at', c.lease_expires_at,
                   'reason', nullif(current_setting('jobhealth.reason', true), ''))
                 when c.status = 'failed' or c.status = 'queued' and c.old_status = 'running' then jsonb_build_object(
                   'run_at', case when c.status = 'queued' then c.run_at end,
                   'error_class', c.error_class, 'error', left(c.error_message, 500),
                   'reason', nullif(current_setting('jobhealth.reason', true), ''))
                 else jsonb_build_object('reason', nullif(current_setting('jobhealth.reason', true), ''))
               end)
          from changed c
         where c.status is distinct from c.old_status
      ), messages as (
        -- A running job's progress (no change of status): nothing for the staff, and for the
        -- owner at most once a second per job (the job's previous update is the clock). Every
        -- other change goes to both, as before (a deleted job's content, say). One INSERT.
        insert into realtime.messages (topic, extension, event, private, payload)
        select m.topic, 'broadcast', 'job_changed', true, m.payload
          from changed c
         cross join lateral (values
           (c.status is distinct from c.old_status or c.status <> 'running',
            'admin:jobs', private.job_changed_payload(c.id, c.user_id, c.model_id, c.status, c.old_status, c.attempt,
                                                      c.progress, c.stage, c.error_class, c.updated_at)),
           (c.status is distinct from c.old_status or c.status <> 'running'
              or c.old_updated_at <= now() - interval '1 second',
            'user:' || c.user_id || ':jobs', private.user_job_changed_payload(c.id, c.status, c.old_status, c.stage,
               c.progress, c.attempt, c.error_class, c.result,
               case when c.status in ('failed', 'cancelled') then private.job_refunded_credits(c.id, c.charge_seq) else 0 end,
               c.updated_at))
         ) m (send, topic, payload)
         where v_broadcast and m.send
      )
      select bool_or(c.status = 'queued' and c.old_status <> 'queued' and c.run_at <= now()),
             array_agg(c.model_id) filter (where c.old_status = 'queued' and c.status <> 'queued')
        into v_wake, v_models
        from changed c;
      if v_broadcast and v_models is not null then
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'queue:' || m, 'broadcast', 'queue_moved', true, jsonb_build_object('model_id', m)
          from (select distinct unnest(v_models)) s (m);
      end if;
      exit;
    exception when others then
      if not v_broadcast then
        raise;
      end if;
      v_broadcast := false;
      v_broadcast_error := sqlerrm;
    end;
  end loop;
  if v_broadcast_error is not null then
    raise warning 'job broadcast failed: %', v_broadcast_error;
  end if;
  if v_wake then
    perform pg_notify('job_dispatch', '');
  end if;
  return null;
end;
$$;

-- private.job_worker_has_work() returns boolean: whether claim_jobs would find a job now.
-- One index probe of the queued jobs per ready model (jobs_queued_model_idx); no row is
-- locked.
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
$$;
revoke all on function private.job_worker_has_work() from public;

-- Hosted: the sweep asks first. cron.schedule with an existing name replaces that job's command.
do $$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_net')
     or not exists (select 1 from pg_extension where extname = 'pg_cron') then
    return;
  end if;
  begin
    perform cron.schedule('jobhealth-job-worker-sweep', '10 seconds',
      'select private.invoke_job_worker(interval ''0 seconds'') where private.job_worker_has_work()');
  exception when others then
    perform cron.schedule('jobhealth-job-worker-sweep', '* * * * *',
      'select private.invoke_job_worker(interval ''0 seconds'') where private.job_worker_has_work()');
  end;
end
$$;
