-- What one job costs, part six: one admin:jobs message per statement, not one per job.
--
-- The console is the one receiver that hears of every job, so admin:jobs carried most of the
-- live messages: a claim of 50 jobs wrote 50 rows of realtime.messages to it, each about 320
-- bytes of row and indexes before its 260-byte payload, each one more message of the project's
-- Realtime quota (500 a second on Pro). Now every statement that changes jobs writes one
-- admin:jobs message, event 'jobs_changed', carrying each job's change:
--   {"jobs": [[id, model_id, status, old_status, attempt, progress, stage, error_class, updated_at_ms], ...]}
-- An entry is an array, not an object: no key is repeated per job, and a null costs four bytes.
-- updated_at is milliseconds since the epoch (what a browser's Date holds; the console compares
-- snapshots with Date.parse, which keeps no more). The console reads the shape in one place
-- (lib/admin-jobs/admin-job-change.ts) and merges each entry as it merged each message; what an
-- entry does not carry it reads from the database, as before.
-- A statement that changes more than 200 jobs (a bulk action, a model disabled with its queue)
-- writes one message per 200: an entry is at most a few hundred bytes, so a message stays far
-- under Realtime's payload limit (256 KB on the Free plan).
-- What is sent, and when, is unchanged: every insert and every change except a running job's
-- progress. The owner's topic and the queue signal are unchanged.
-- The three writers are redefined, each otherwise as it was: private.jobs_broadcast and
-- private.jobs_after_update (20261208260100_job_cost_message_payloads.sql) and
-- public.complete_jobs (20261209300100_complete_jobs.sql).
set local lock_timeout = '5s';

drop function private.job_changed_payload(uuid, text, text, text, integer, smallint, text, text, timestamptz);

-- One job's entry in an admin:jobs message, in the order the console reads it. Inlined.
create function private.admin_job_entry(
  p_id uuid, p_model_id text, p_status text, p_old_status text, p_attempt integer,
  p_progress smallint, p_stage text, p_error_class text, p_updated_at timestamptz
) returns jsonb
language sql immutable
as $$
  select jsonb_build_array(p_id, p_model_id, p_status, p_old_status, p_attempt, p_progress, p_stage,
    p_error_class, floor(extract(epoch from p_updated_at) * 1000)::bigint)
$$;

-- A statement's entries as admin:jobs payloads: one for up to 200 entries, none for none.
create function private.admin_jobs_payloads(p_entries jsonb[]) returns setof jsonb
language sql immutable
as $$
  select jsonb_build_object('jobs', jsonb_agg(e.entry order by e.n))
    from unnest(p_entries) with ordinality as e (entry, n)
   group by (e.n - 1) / 200
$$;

-- Inserts: as in 20261208260100_job_cost_message_payloads.sql, staff's message one per statement.
create or replace function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    with owners as (
      insert into realtime.messages (topic, extension, event, private, payload)
      select 'user:' || n.user_id || ':jobs', 'broadcast', 'job_changed', true,
             private.user_job_changed_payload(n.id, n.status, null, n.stage, n.progress, n.attempt,
                                              n.error_class, n.result, 0, n.updated_at)
        from new_jobs n
    )
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
      from private.admin_jobs_payloads(array(
             select private.admin_job_entry(n.id, n.model_id, n.status, null, n.attempt, n.progress,
                                            n.stage, n.error_class, n.updated_at)
               from new_jobs n)) p;
  exception when others then
    raise warning 'job broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;

-- Updates: as in 20261208260100_job_cost_message_payloads.sql, staff's message one per statement.
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

-- complete_jobs: as in 20261209300100_complete_jobs.sql (contract, own writes, fallback, generic
-- plan), staff's message one per statement.
create or replace function public.complete_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_results jsonb default null)
returns table (job_id uuid, outcome text, status text)
language plpgsql
security definer
set search_path = ''
-- The completing statement's plan is the same for one job and for 500 (a nested loop over the
-- pairs into the primary key), but planned for the arrays at hand its estimate differs from the
-- generic one, so Postgres would plan it again on every call: at one job that planning was as
-- much as the rest of the call (complete_jobs' own CPU about halved with the generic plan, in
-- turns on one database).
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  v_n integer := coalesce(cardinality(p_job_ids), 0);
  v_ignored text;
  v_actor uuid;
  v_own_writes boolean := true;
  v_done uuid[];
begin
  v_ignored := private.require_role(array['service_role'], 'complete_jobs');
  if v_n = 0 or v_n > 500 then
    raise exception 'job ids must be a list of 1 to 500 ids' using errcode = '22023';
  end if;
  if cardinality(p_lease_tokens) is distinct from v_n then
    raise exception 'lease tokens must be as many as the job ids' using errcode = '22023';
  end if;
  if p_results is not null and (jsonb_typeof(p_results) <> 'array' or jsonb_array_length(p_results) <> v_n) then
    raise exception 'results must be null or an array as long as the job ids' using errcode = '22023';
  end if;
  -- Nested, not one condition: a condition with a subquery is a statement through the executor
  -- even when v_n > 1 is false, and one job cannot be listed twice.
  if v_n > 1 then
    if (select count(*) from (select distinct i from unnest(p_job_ids) i) s) <> v_n then
      raise exception 'a job is listed more than once' using errcode = '22023';
    end if;
  end if;
  v_actor := auth.uid();
  loop
    begin
      if v_own_writes then
        v_ignored := set_config('jobhealth.events_written', 'on', true);
      else
        -- The plain UPDATE: the trigger writes the timeline and the broadcasts, as the worker.
        perform private.set_actor('worker');
      end if;
      with input as (
        select i.id, i.lease_token, nullif(p_results -> (i.n::integer - 1), 'null'::jsonb) as result
          from unnest(p_job_ids, p_lease_tokens) with ordinality as i (id, lease_token, n)
      ), done as (
        update public.jobs j
           set status = 'succeeded', result = i.result, progress = 100, stage = 'done',
               lease_token = null, lease_expires_at = null, finished_at = now(), updated_at = now()
          from input i
         where j.id = i.id and j.lease_token = i.lease_token
        returning j.id, j.user_id, j.model_id, j.attempt, j.progress, j.stage, j.error_class, j.result, j.updated_at
      ), events as (
        insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role)
        select d.id, d.user_id, d.model_id, 'running', 'succeeded', d.attempt, v_actor, 'worker'
          from done d
         where v_own_writes
      ), owners as (
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'user:' || d.user_id || ':jobs', 'broadcast', 'job_changed', true,
               private.user_job_changed_payload(d.id, 'succeeded', 'running', d.stage, d.progress, d.attempt,
                                                d.error_class, d.result, 0, d.updated_at)
          from done d
         where v_own_writes
      ), staff as (
        -- One message for the statement's completions, as the jobs trigger writes it.
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
          from private.admin_jobs_payloads(array(
                 select private.admin_job_entry(d.id, d.model_id, 'succeeded', 'running', d.attempt,
                                                d.progress, d.stage, d.error_class, d.updated_at)
                   from done d
                  where v_own_writes)) p
      )
      select array_agg(d.id) into v_done from done d;
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
  -- Every job completed, the usual case: the rows follow from the inputs. One job's row is
  -- assigned and returned without a statement; more go through one.
  if cardinality(v_done) = v_n then
    if v_n = 1 then
      job_id := p_job_ids[1];
      outcome := 'succeeded';
      status := 'succeeded';
      return next;
      return;
    end if;
    return query select i.id, 'succeeded', 'succeeded' from unnest(p_job_ids) as i (id);
    return;
  end if;
  return query
    select i.id,
           case when i.id = any (v_done) then 'succeeded' else 'fenced' end,
           case when i.id = any (v_done) then 'succeeded' else j.status end
      from unnest(p_job_ids) with ordinality as i (id, n)
      left join public.jobs j on j.id = i.id
     order by i.n;
end;
$$;
