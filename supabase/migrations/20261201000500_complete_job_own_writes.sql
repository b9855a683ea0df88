-- The completion, the call every job makes, in one statement; and the jobs row rules in one check.
--
-- Where a completion's cost went (callgrind on one backend: claim 50, then complete each, each
-- in its own transaction; 1.32 million instructions per job before this migration, 0.93 of
-- them in complete_job):
--   * 0.43 million in the jobs_after_update trigger. Almost none of it is the rows it writes:
--     it is starting a second statement (a plpgsql call, the join of the transition tables, a
--     shared CTE, two inserts and an aggregate) for the one row the UPDATE already had in hand.
--   * 0.18 million in the seven CHECK constraints on jobs. Postgres reads each one back from
--     its stored node tree on every UPDATE statement, at some 45 instructions per character,
--     and the seven are 4,100 characters.
--
-- 1. complete_job writes the job's timeline row and its admin broadcast in the statement that
--    completes it (data-modifying CTEs over the UPDATE's RETURNING), and marks the transaction
--    with jobhealth.events_written for that one statement so jobs_after_update stands down.
--    The row and the message are the ones the trigger would have written: from running
--    (the lease token matched, and only a running job holds one), to succeeded, actor 'worker',
--    detail {}, the same job_changed payload (private.job_changed_payload). If that statement
--    fails, the completion runs once more as a plain UPDATE, where the trigger does everything
--    as for any other update: a failing broadcast then only warns, as before, and an error of
--    the completion itself fails the call. Every other update of jobs, including a superuser's
--    by hand, still goes through the trigger alone.
--
--    jobhealth.events_written is trusted like jobhealth.actor_role: no API role can run SQL to
--    set it (PostgREST only sets request.* settings), and complete_job sets it inside an
--    exception block, so an error rolls it back with everything else.
--
-- 2. The seven CHECK constraints become one, jobs_row_valid, which passes the whole row to an
--    immutable plpgsql function: one whole-row reference and a function call, about 300
--    characters to read back per statement. The rules are unchanged; a violation is still
--    SQLSTATE 23514 naming the constraint, with the broken rule in the detail. Added NOT VALID
--    and then validated, so checking existing rows does not block writers; the old constraints
--    are dropped after.
--
-- Together: 1.32 -> 1.04 million instructions per job (-21%): complete 0.93 -> 0.63 (of which
-- the row check 0.18 -> 0.08), claim 0.39 -> 0.41 (the check is now a function call per row).
-- The function spells each rule once; a separate all-rules-hold test in front of the CASE was
-- 0.02 million cheaper per job, but would give every rule two spellings that could drift.
-- Contracts are unchanged: the same arguments, results and errors, the same timeline rows and
-- Realtime messages; only a row-rule violation names jobs_row_valid instead of one of seven.

-- 2. The row rules.
create function private.jobs_row_valid(j public.jobs) returns boolean
language plpgsql immutable
as $$
declare
  v_rule text;
begin
  -- Each rule once: the first broken one names itself, a valid row breaks none.
  v_rule := case
    when not j.status = any ('{queued,running,succeeded,failed,cancelled}'::text[])
      then format('status must be queued, running, succeeded, failed or cancelled, not %s', j.status)
    when (j.status = 'running') <> (j.lease_token is not null and j.lease_expires_at is not null)
      then case when j.status = 'running'
             then 'a running job must hold a lease (lease_token and lease_expires_at)'
             else format('only a running job holds a lease, and this one is %s', j.status) end
    when not j.progress between 0 and 100 then format('progress must be between 0 and 100, not %s', j.progress)
    when j.attempt < 0 then format('attempt must be 0 or more, not %s', j.attempt)
    when j.max_attempts < 1 then format('max_attempts must be 1 or more, not %s', j.max_attempts)
    when j.credits_cost < 0 then format('credits_cost must be 0 or more, not %s', j.credits_cost)
    when j.charge_seq < 1 then format('charge_seq must be 1 or more, not %s', j.charge_seq)
  end;
  if v_rule is null then
    return true;
  end if;
  raise exception 'new row for relation "jobs" violates check constraint "jobs_row_valid"'
    using errcode = '23514', detail = v_rule, schema = 'public', table = 'jobs', constraint = 'jobs_row_valid';
end;
$$;
comment on function private.jobs_row_valid(public.jobs) is
  'The rules every jobs row obeys (constraint jobs_row_valid); raises 23514 naming the broken rule.';

alter table public.jobs add constraint jobs_row_valid check (private.jobs_row_valid(jobs)) not valid;
alter table public.jobs validate constraint jobs_row_valid;
alter table public.jobs
  drop constraint jobs_status_check,
  drop constraint jobs_lease_iff_running,
  drop constraint jobs_progress_check,
  drop constraint jobs_attempt_check,
  drop constraint jobs_max_attempts_check,
  drop constraint jobs_credits_cost_check,
  drop constraint jobs_charge_seq_check;

-- 1. The trigger stands down for a statement whose function wrote its own timeline and
-- broadcast. Otherwise unchanged from 20261201000400, except that the models jobs left the queue
-- from are collected as they come and made distinct only when there are any (a claim): a
-- DISTINCT aggregate sorted, on every statement, a list that is empty for almost all of them.
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

-- Arguments, result and errors are unchanged (see 20261123001000_worker_transitions.sql).
create or replace function public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null)
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
        returning id, user_id, model_id, attempt, progress, stage, error_class, updated_at
      ), events as (
        insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role)
        select d.id, d.user_id, d.model_id, 'running', 'succeeded', d.attempt, auth.uid(), 'worker'
          from done d
         where v_own_writes
      ), messages as (
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'admin:jobs', 'broadcast', 'job_changed', true,
               private.job_changed_payload(d.id, d.user_id, d.model_id, 'succeeded', 'running', d.attempt, d.progress,
                                           d.stage, d.error_class, d.updated_at)
          from done d
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
revoke all on all functions in schema private from public;
