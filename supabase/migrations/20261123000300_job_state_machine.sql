-- The job state machine, held by the jobs table's triggers so that no path (a function, a bulk
-- action, a superuser's hand-written UPDATE) can get around it.
--
--   * A job is created queued; after that only the transitions listed below exist. Anything else
--     fails with 23514 'illegal job transition: <from> -> <to>' and the statement is rolled back
--     as a whole.
--   * Every transition writes its job_events row in the same statement, attributed to the actor
--     the calling function recorded (private.set_actor), or to 'database' for a direct UPDATE.
--   * Every inserted or changed job is broadcast once to 'admin:jobs' and once to its owner's
--     'user:<user_id>:jobs', and every statement that takes queued jobs out of the queue signals
--     'queue:<model_id>' once per model (20261123001000_realtime_topics.sql). A failed broadcast
--     only warns: it never fails the transition that caused it.
--   * A job put back to queued and ready now NOTIFYs job_dispatch, once per transaction
--     (20261123001200_schedules_and_wakeup.sql).
--
-- Updates go through one statement-level trigger, jobs_after_update, that does all four over one
-- join of the transition tables: one plpgsql call per statement, however many jobs it changed,
-- instead of a trigger per duty each joining the old and new rows again (docs/benchmarks.md,
-- Schema costs). Messages are inserted into realtime.messages set-based inside one exception
-- block, where realtime.send would open a subtransaction per row: a claim of 50 jobs would
-- otherwise take 50 subtransaction ids, and past 64 the per-backend cache overflows and every
-- snapshot on the server slows down.

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

-- A job is created queued. The condition is the trigger's WHEN clause, evaluated in C: a legal
-- insert never calls the function, an illegal one calls it only to raise.
create function private.jobs_refuse_transition() returns trigger
language plpgsql
as $$
begin
  raise exception 'illegal job transition: a job is created queued, not %', new.status using errcode = '23514';
end;
$$;
create trigger jobs_check_insert before insert on public.jobs
  for each row when (new.status <> 'queued')
  execute function private.jobs_refuse_transition();

-- The admin broadcast's payload, spelled once for the insert trigger, the update trigger and
-- complete_job. A SQL function is inlined into the statement that uses it: nothing is called
-- per row.
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

-- The owner's broadcast, 'user:<user_id>:jobs': what the end-user pages show of a job and nothing
-- else (no user, model, prompt, lease or worker). result is the image's reference (bucket, path,
-- size) and its gallery thumbnail's (thumbnail_path, thumbnail_width, thumbnail_height; null when
-- the worker stored none); refunded is the credits the ledger returned for the job's current
-- charge, 0 until then.
create function private.user_job_changed_payload(
  p_id uuid, p_status text, p_old_status text, p_stage text, p_progress smallint, p_attempt integer,
  p_error_class text, p_result jsonb, p_refunded bigint, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'id', p_id, 'status', p_status, 'old_status', p_old_status, 'stage', p_stage, 'progress', p_progress,
    'attempt', p_attempt, 'error_class', p_error_class,
    'result', case when p_result is not null then jsonb_build_object(
      'bucket', p_result -> 'bucket', 'path', p_result -> 'path', 'width', p_result -> 'width', 'height', p_result -> 'height',
      'thumbnail_path', p_result -> 'thumbnail_path', 'thumbnail_width', p_result -> 'thumbnail_width',
      'thumbnail_height', p_result -> 'thumbnail_height') end,
    'refunded', p_refunded, 'updated_at', p_updated_at)
$$;

-- The credits refunded for a job's current charge. Every path that fails or cancels a job
-- refunds the charge before it changes the status (20261123000400_credits_and_refunds.sql), so
-- the refund is in the ledger when the transition's message is written. Asked only for failed
-- and cancelled jobs (a CASE in the caller), so heartbeats never pay the lookup; one probe of the
-- unique index credit_ledger_one_refund_per_charge.
create function private.job_refunded_credits(p_job_id uuid, p_charge_seq integer) returns bigint
language sql stable
as $$
  select coalesce((select l.delta from public.credit_ledger l
                    where l.job_id = p_job_id and l.charge_seq = p_charge_seq and l.reason = 'job_refund'), 0)
$$;

-- Inserts: the 'queued' event and the broadcasts, one INSERT each per statement over the new rows
-- (statement-level with a transition table).
create function private.jobs_events_on_insert() returns trigger
language plpgsql
as $$
begin
  insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role, detail)
  select n.id, n.user_id, n.model_id, null, n.status, n.attempt,
         nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
         coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'),
         jsonb_strip_nulls(jsonb_build_object('reason', nullif(current_setting('jobhealth.reason', true), '')))
  from new_jobs n;
  return null;
end;
$$;
create trigger jobs_events_on_insert after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function private.jobs_events_on_insert();

create function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select m.topic, 'broadcast', 'job_changed', true, m.payload
      from new_jobs n
     cross join lateral (values
       ('admin:jobs', private.job_changed_payload(n.id, n.user_id, n.model_id, n.status, null, n.attempt, n.progress,
                                                  n.stage, n.error_class, n.updated_at)),
       ('user:' || n.user_id || ':jobs', private.user_job_changed_payload(n.id, n.status, null, n.stage, n.progress,
                                                  n.attempt, n.error_class, n.result, 0, n.updated_at))
     ) m (topic, payload);
  exception when others then
    raise warning 'job broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;
create trigger jobs_broadcast_on_insert after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function private.jobs_broadcast();

-- Updates: the transition check, the timeline, the broadcasts and the wake-up.
-- It stands down for complete_job's own writes (jobhealth.events_written): 20261123000600_claims_and_leases.sql.
create function private.jobs_after_update() returns trigger
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
               n.result, n.charge_seq
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
        -- Two messages per job, the staff's and the owner's, in one INSERT.
        insert into realtime.messages (topic, extension, event, private, payload)
        select m.topic, 'broadcast', 'job_changed', true, m.payload
          from changed c
         cross join lateral (values
           ('admin:jobs', private.job_changed_payload(c.id, c.user_id, c.model_id, c.status, c.old_status, c.attempt,
                                                      c.progress, c.stage, c.error_class, c.updated_at)),
           ('user:' || c.user_id || ':jobs', private.user_job_changed_payload(c.id, c.status, c.old_status, c.stage,
               c.progress, c.attempt, c.error_class, c.result,
               case when c.status in ('failed', 'cancelled') then private.job_refunded_credits(c.id, c.charge_seq) else 0 end,
               c.updated_at))
         ) m (topic, payload)
         where v_broadcast
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
create trigger jobs_after_update after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function private.jobs_after_update();

revoke all on all functions in schema private from public;
