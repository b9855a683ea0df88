-- What one job costs, part three: smaller live messages, and no queue signal nobody waits for.
--
-- A job's messages were 4,301 bytes of realtime.messages (docs/benchmarks.md, "Worker"). Each
-- row costs about 320 bytes before its payload (measured: some 145 bytes of heap for the row's
-- own columns, about 170 bytes in the table's two indexes, the primary key on a random uuid and
-- the (inserted_at desc, topic) index, both Realtime's own), so what this file can spend less of
-- is the payloads and the rows:
--   * job_changed payloads carry what their receivers read and leave out what they read as null
--     or zero: no key whose value is null (a new job's old_status, a job without an error's
--     error_class, ...), and on the owner's topic no "refunded" while nothing was refunded. The
--     receivers' schemas read a missing key as null (and "refunded" as 0), so every page
--     patches exactly what it did. admin:jobs no longer names the job's user: no receiver on
--     that topic reads it (the console's rows come with their user from REST).
--   * queue:<model> is signalled by a statement that takes jobs out of the queue only while
--     other jobs of the model still wait: the signal moves waiting jobs' positions, and with
--     none left there is nobody to move. A job enqueued after the check and before the claim's
--     commit reads its position on its page's join, which comes after that commit.
-- The owner's payload leaves out its null keys in 20261208310300_owner_message_without_null_keys.sql
-- (after the result's shape took its definition over).
-- private.job_changed_payload loses its user parameter, so its three callers are redefined:
-- jobs_broadcast (20261123000300_job_state_machine.sql), complete_job
-- (20261123000600_claims_and_leases.sql) and jobs_after_update
-- (20261207500200_job_cost_messages_and_sweep.sql), each otherwise as it was.
set local lock_timeout = '5s';

drop function private.job_changed_payload(uuid, uuid, text, text, text, integer, smallint, text, text, timestamptz);

-- The admin broadcast's payload, spelled once for the insert trigger, the update trigger and
-- complete_job: {id, model_id, status, old_status, attempt, progress, stage, error_class,
-- updated_at}, each key present only when its value is not null. JSON_OBJECT with ABSENT ON
-- NULL builds it without the null keys in one pass (jsonb_strip_nulls over jsonb_build_object
-- cost about 0.1 M instructions more per job: docs/benchmarks.md, Schema costs). A SQL function
-- is inlined into the statement that uses it: nothing is called per row.
create function private.job_changed_payload(
  p_id uuid, p_model_id text, p_status text, p_old_status text, p_attempt integer,
  p_progress smallint, p_stage text, p_error_class text, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select json_object('id': p_id, 'model_id': p_model_id, 'status': p_status, 'old_status': p_old_status,
    'attempt': p_attempt, 'progress': p_progress, 'stage': p_stage, 'error_class': p_error_class,
    'updated_at': p_updated_at absent on null returning jsonb)
$$;

-- Inserts: as in 20261123000300_job_state_machine.sql.
create or replace function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select m.topic, 'broadcast', 'job_changed', true, m.payload
      from new_jobs n
     cross join lateral (values
       ('admin:jobs', private.job_changed_payload(n.id, n.model_id, n.status, null, n.attempt, n.progress,
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

-- Updates: as in 20261207500200_job_cost_messages_and_sweep.sql, and the queue signal only while
-- jobs of the model still wait.
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
  -- left the queue and others of their model still wait in it, in a second one. If it fails, it is run once more without
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
            'admin:jobs', private.job_changed_payload(c.id, c.model_id, c.status, c.old_status, c.attempt,
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
        select 'queue:' || s.m, 'broadcast', 'queue_moved', true, jsonb_build_object('model_id', s.m)
          from (select distinct unnest(v_models)) s (m)
         where exists (select 1 from public.jobs q where q.status = 'queued' and q.model_id = s.m);
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

-- complete_job: as in 20261123000600_claims_and_leases.sql (contract and own writes there).
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
        returning id, user_id, model_id, attempt, progress, stage, error_class, result, updated_at
      ), events as (
        insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role)
        select d.id, d.user_id, d.model_id, 'running', 'succeeded', d.attempt, auth.uid(), 'worker'
          from done d
         where v_own_writes
      ), messages as (
        insert into realtime.messages (topic, extension, event, private, payload)
        select m.topic, 'broadcast', 'job_changed', true, m.payload
          from done d
         cross join lateral (values
           ('admin:jobs', private.job_changed_payload(d.id, d.model_id, 'succeeded', 'running', d.attempt,
                                                      d.progress, d.stage, d.error_class, d.updated_at)),
           ('user:' || d.user_id || ':jobs', private.user_job_changed_payload(d.id, 'succeeded', 'running', d.stage,
                                                      d.progress, d.attempt, d.error_class, d.result, 0, d.updated_at))
         ) m (topic, payload)
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
