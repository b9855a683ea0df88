-- The queue signal probes the queue instead of reading it.
--
-- A claim that takes jobs out of the queue signals queue:<model> while other jobs of the model
-- still wait (20261208260100_job_cost_message_payloads.sql,
-- redefined last in 20261210300100_admin_jobs_message_per_statement.sql). That check was an EXISTS over the
-- models at hand, which Postgres may plan as a join over every queued job, and did whenever the
-- statistics said the queue was nearly empty: jobs is analysed after a tenth of its rows change
-- (200,000 changes on a 2-million-job history), so its statistics describe the queue at some
-- moment days ago, and a queue that has since grown looks free to read whole. Beside such a
-- history, with four claimers draining 3,000 jobs, every claim then read all of them (a hash join
-- over the queued index, or a sort of it): 155 to 230 buffers a job against 11 on a database
-- analysed minutes before (docs/benchmarks.md, Growth), a claim's cost growing with the backlog.
-- The check is now a scalar subquery per model with LIMIT 1 and no ORDER BY: it cannot become a
-- join, no plan for it sorts the queue first, and any index it walks stops at the first waiting
-- job. jobs_after_update is otherwise as it was.
set local lock_timeout = '5s';

-- Updates: as in 20261210300100_admin_jobs_message_per_statement.sql, with the queue signal's probe.
create or replace function private.jobs_after_update() returns trigger
language plpgsql
as $$
declare
  v_broadcast boolean := true;
  v_broadcast_error text;
  v_wake boolean;
  v_models text[];
  v_admin jsonb[];
begin
  if current_setting('jobhealth.events_written', true) = 'on' then
    return null;
  end if;
  -- The transition check, the timeline, the owners' messages and the wake-up decision in one
  -- statement over one join of the transition tables; staff's message and the queue signal
  -- (needed only when jobs left the queue and others of their model still wait in it) after it.
  -- If it fails, it is run once more without the broadcasts: if that succeeds, the broadcast was
  -- the cause and only a warning remains; if it fails again, the cause was the transition itself
  -- and that error fails the statement.
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
        -- The owner: every change, but a running job's progress (no change of status) at most
        -- once a second per job (the job's previous update is the clock). One INSERT.
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'user:' || c.user_id || ':jobs', 'broadcast', 'job_changed', true,
               private.user_job_changed_payload(c.id, c.status, c.old_status, c.stage,
                 c.progress, c.attempt, c.error_class, c.result,
                 case when c.status in ('failed', 'cancelled') then private.job_refunded_credits(c.id, c.charge_seq) else 0 end,
                 c.updated_at)
          from changed c
         where v_broadcast
           and (c.status is distinct from c.old_status or c.status <> 'running'
                or c.old_updated_at <= now() - interval '1 second')
      )
      select bool_or(c.status = 'queued' and c.old_status <> 'queued' and c.run_at <= now()),
             array_agg(c.model_id) filter (where c.old_status = 'queued' and c.status <> 'queued'),
             -- Staff: every change but a running job's progress.
             array_agg(private.admin_job_entry(c.id, c.model_id, c.status, c.old_status, c.attempt,
                                               c.progress, c.stage, c.error_class, c.updated_at))
               filter (where c.status is distinct from c.old_status or c.status <> 'running')
        into v_wake, v_models, v_admin
        from changed c;
      if v_broadcast and v_admin is not null then
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
          from private.admin_jobs_payloads(v_admin) p;
      end if;
      if v_broadcast and v_models is not null then
        -- A probe per model that stops at the first waiting job it finds, whichever index the
        -- planner takes: a scalar subquery cannot become a join, and without an ORDER BY no
        -- plan sorts (reads) the whole queue first.
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'queue:' || s.m, 'broadcast', 'queue_moved', true, jsonb_build_object('model_id', s.m)
          from (select distinct unnest(v_models)) s (m)
         where (select true from public.jobs q where q.status = 'queued' and q.model_id = s.m limit 1);
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
