-- One trigger after every UPDATE of jobs, in place of five.
--
-- Until now an update of jobs ran: a BEFORE row trigger whose WHEN clause held the table of
-- legal transitions; an AFTER row trigger for the worker wake-up (also a WHEN clause); and three
-- AFTER statement triggers (timeline, admin broadcast, queue signal), each joining the old and
-- new transition tables again. Postgres re-reads a trigger's WHEN clause from its stored node
-- tree for every statement, and starts three plpgsql calls and three joins. Counted with
-- callgrind on a single backend (claim 50, then complete each, each in its own transaction),
-- that was 1.91 million instructions per job; with the one trigger below and the leaner
-- set_actor / complete_job, 1.32 million (-31%): claim 0.39 million per job, complete 0.93.
--
-- What does not change:
--   * Only the listed transitions exist; anything else fails with 23514 'illegal job transition:
--     <from> -> <to>', even for a superuser's UPDATE (the statement is rolled back as a whole).
--   * Every transition writes its job_events row in the same statement.
--   * Every changed job is broadcast once to 'admin:jobs' (event job_changed, same payload), and
--     each claim statement signals 'queue:<model>' once per model it took jobs from. A failed
--     broadcast only warns: the timeline is then written without it and the transition stands.
--   * A job put back to queued and ready now NOTIFYs job_dispatch (once per transaction).

-- The legal transitions, in one place. A SQL function is inlined where it is used, so it costs
-- nothing per row or per statement once a plan is cached; one constant array is a single cheap
-- comparison where a list of row pairs compiled to some thirty steps on every statement.
--   queued>running       claim
--   running>succeeded    complete
--   running>queued       retryable failure, reaper requeue, admin requeue
--   running>failed       final failure, reaper, fail-and-refund
--   queued>failed        fail-and-refund, deadline
--   queued>cancelled     cancel (owner or admin)
--   running>cancelled    cancel (admin)
--   failed>queued        retry
--   cancelled>queued     retry
create function private.job_transition_allowed(p_from text, p_to text) returns boolean
language sql immutable
as $$
  select p_from || '>' || p_to = any ('{queued>running,running>succeeded,running>queued,running>failed,queued>failed,queued>cancelled,running>cancelled,failed>queued,cancelled>queued}'::text[])
$$;

-- Raises for an illegal transition. Returns text so it can stand in a CASE branch: it is only
-- ever called for a row that is not allowed.
create function private.refuse_job_transition(p_from text, p_to text) returns text
language plpgsql
as $$
begin
  raise exception 'illegal job transition: % -> %', p_from, p_to using errcode = '23514';
end;
$$;

-- The admin broadcast's payload, spelled once for the insert and the update trigger. A SQL
-- function is inlined into the statement that uses it: nothing is called per row.
create function private.job_changed_payload(
  p_id uuid, p_user_id uuid, p_model_id text, p_status text, p_old_status text, p_attempt integer,
  p_progress smallint, p_stage text, p_error_class text, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'id', p_id, 'user_id', p_user_id, 'model_id', p_model_id, 'status', p_status, 'old_status', p_old_status,
    'attempt', p_attempt, 'progress', p_progress, 'stage', p_stage, 'error_class', p_error_class,
    'updated_at', p_updated_at)
$$;

-- Inserts only, now that updates have their own trigger (same message as before).
create or replace function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'admin:jobs', 'broadcast', 'job_changed', true,
           private.job_changed_payload(n.id, n.user_id, n.model_id, n.status, null, n.attempt, n.progress, n.stage,
                                       n.error_class, n.updated_at)
      from new_jobs n;
  exception when others then
    raise warning 'job broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;

-- Inserts only as well: an update's transition is checked by jobs_after_update below.
create or replace function private.jobs_refuse_transition() returns trigger
language plpgsql
as $$
begin
  raise exception 'illegal job transition: a job is created queued, not %', new.status using errcode = '23514';
end;
$$;

create function private.jobs_after_update() returns trigger
language plpgsql
as $$
declare
  v_broadcast boolean := true;
  v_broadcast_error text;
  v_wake boolean;
  v_models text[];
begin
  -- The transition check, the timeline, the admin broadcast and the wake-up decision in one
  -- statement over one join of the transition tables; the queue signal, needed only when jobs
  -- left the queue, in a second one. If it fails, it is run once more without
  -- the broadcasts: if that succeeds, the broadcast was the cause and only a warning remains;
  -- if it fails again, the cause was the transition itself and that error fails the statement.
  loop
    begin
      with changed as (
        select n.id, n.user_id, n.model_id, o.status as old_status, n.status, n.attempt, n.progress, n.stage,
               n.worker_id, n.lease_expires_at, n.run_at, n.error_class, n.error_message, n.updated_at
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
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'admin:jobs', 'broadcast', 'job_changed', true,
               private.job_changed_payload(c.id, c.user_id, c.model_id, c.status, c.old_status, c.attempt, c.progress,
                                           c.stage, c.error_class, c.updated_at)
          from changed c
         where v_broadcast
      )
      select bool_or(c.status = 'queued' and c.old_status <> 'queued' and c.run_at <= now()),
             array_agg(distinct c.model_id) filter (where c.old_status = 'queued' and c.status <> 'queued')
        into v_wake, v_models
        from changed c;
      if v_broadcast and v_models is not null then
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'queue:' || m, 'broadcast', 'queue_moved', true, jsonb_build_object('model_id', m)
          from unnest(v_models) m;
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
revoke all on all functions in schema private from public;

drop trigger jobs_check_transition on public.jobs;
drop trigger jobs_dispatch_on_requeue on public.jobs;
drop trigger jobs_events_on_update on public.jobs;
drop trigger jobs_broadcast_on_update on public.jobs;
drop trigger jobs_queue_signal on public.jobs;
drop function private.jobs_events_on_update();
drop function private.jobs_queue_signal();

create trigger jobs_after_update after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function private.jobs_after_update();

-- set_actor: assignments instead of PERFORM. A PERFORM runs its SELECT through the full
-- executor; an assignment of a plain function call is evaluated as a simple expression.
create or replace function private.set_actor(p_role text, p_reason text default null) returns void
language plpgsql
as $$
declare
  v_ignored text;
begin
  v_ignored := set_config('jobhealth.actor_id', coalesce(auth.uid()::text, ''), true);
  v_ignored := set_config('jobhealth.actor_role', p_role, true);
  v_ignored := set_config('jobhealth.reason', coalesce(p_reason, ''), true);
end;
$$;

-- complete_job, the call every job makes: the role check as an assignment, for the same reason.
-- Arguments, result and errors are unchanged (see 20261123001000_worker_transitions.sql).
create or replace function public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  v_status := private.require_role(array['service_role'], 'complete_job');
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

-- Every UPDATE of jobs re-reads its CHECK constraints from their stored node trees, at a cost
-- that grows with their length. The status check written as one constant array is stored in
-- about half the text of the IN list it replaces; what it allows is unchanged. NOT VALID then
-- VALIDATE: the check of existing rows does not hold a lock that blocks writers.
alter table public.jobs drop constraint jobs_status_check,
  add constraint jobs_status_check
    check (status = any ('{queued,running,succeeded,failed,cancelled}'::text[])) not valid;
alter table public.jobs validate constraint jobs_status_check;
