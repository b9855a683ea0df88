-- What one job costs, part seven: the per-statement admin:jobs message at the cost it was meant to have.
--
-- 20261210300100_admin_jobs_message_per_statement.sql made admin:jobs one message per statement,
-- and a job claimed and completed one at a time became dearer in Postgres CPU (about 1,464 to
-- 1,805 µs a job in the queue benchmark). Counted with callgrind (docs/benchmarks.md, "The claim
-- and the completion, piece by piece"), 4.16 M instructions a job against 3.50 M before it, and
-- almost all of the difference was two functions run as SQL functions instead of being inlined:
--   * private.admin_job_entry was declared immutable, but jsonb_build_array and extract(epoch
--     from timestamptz) are stable, and Postgres inlines an immutable SQL function only when its
--     body is immutable too. So each statement parsed, analysed and planned its body again (a SQL
--     function's plan lives only as long as the statement that calls it). It is stable, which it
--     is, and inlined.
--   * private.admin_jobs_payloads was called with an array(subquery) argument, and Postgres
--     inlines a set-returning SQL function only when its arguments hold no subquery. The entries
--     are aggregated in a subquery of their own and handed to it laterally, which it inlines.
-- The rest: each writer inserted its messages with two or three INSERTs into realtime.messages,
-- and every INSERT into that partitioned table starts its own executor node (partition routing,
-- the partition and its indexes opened). Each writer now inserts all of a statement's messages
-- with one INSERT: jobs_broadcast (the owners' and staff's), jobs_after_update (the owners',
-- staff's and the queue signal) and complete_jobs (the owners' and staff's).
-- What is sent, to whom and when is unchanged: the same rows, the same payloads.
-- Two rules the jobs trigger spelled inline become functions of their own, so that claim_jobs
-- can write the same rows (20261211200200_claim_front_of_each_queue.sql): a timeline row's detail
-- (private.job_event_detail) and the queue signal's probe (private.queue_moved_signals).
-- Redefined, each otherwise as it was: private.admin_job_entry, private.jobs_broadcast and
-- public.complete_jobs (20261210300100_admin_jobs_message_per_statement.sql) and
-- private.jobs_after_update (20261210300200_queue_signal_probe.sql).
set local lock_timeout = '5s';

-- One job's entry in an admin:jobs message, in the order the console reads it. Stable, as its
-- body is: that is what lets Postgres inline it into the statement that calls it.
create or replace function private.admin_job_entry(
  p_id uuid, p_model_id text, p_status text, p_old_status text, p_attempt integer,
  p_progress smallint, p_stage text, p_error_class text, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select jsonb_build_array(p_id, p_model_id, p_status, p_old_status, p_attempt, p_progress, p_stage,
    p_error_class, floor(extract(epoch from p_updated_at) * 1000)::bigint)
$$;

-- A timeline row's detail: only what the transition is about (the lease for a claim, the error and
-- the retry time for a failure) and the staff member's reason when there is one. One definition
-- for every writer of the timeline that is not complete_jobs (whose rows have no detail): the
-- jobs trigger and claim_jobs. Stable and inlined.
create function private.job_event_detail(
  p_status text, p_old_status text, p_worker_id text, p_lease_expires_at timestamptz, p_run_at timestamptz,
  p_error_class text, p_error_message text
) returns jsonb
language sql stable
as $$
  select jsonb_strip_nulls(case
    when p_status = 'running' then jsonb_build_object(
      'worker_id', p_worker_id, 'lease_expires_at', p_lease_expires_at,
      'reason', nullif(current_setting('jobhealth.reason', true), ''))
    when p_status = 'failed' or p_status = 'queued' and p_old_status = 'running' then jsonb_build_object(
      'run_at', case when p_status = 'queued' then p_run_at end,
      'error_class', p_error_class, 'error', left(p_error_message, 500),
      'reason', nullif(current_setting('jobhealth.reason', true), ''))
    else jsonb_build_object('reason', nullif(current_setting('jobhealth.reason', true), ''))
  end)
$$;

-- The queue signal for the models whose jobs a statement took out of the queue (each listed once):
-- one queue:<model> message (topic and payload) per model while other jobs of it still wait. A probe per model that
-- stops at the first waiting job it finds: a scalar subquery, which cannot become a join
-- (20261210300200_queue_signal_probe.sql), in the order of the model's queue index
-- (jobs_queue_by_model_idx, 20261211200200_claim_front_of_each_queue.sql), so that no plan but
-- that index's first entry is cheap. Without an order, LIMIT 1 made a sequential scan look free
-- whenever the statistics saw many jobs waiting, and it read the table from its start, where the
-- jobs claimed since the last vacuum sit: 434 pages a claim, midway through a burst of 20,000
-- (the queue benchmark one at a time). A plan that reads the queue and sorts it costs the whole
-- queue however short the statistics say it is, against one entry of the index. One definition
-- for the jobs trigger and claim_jobs; set-returning and inlined where it is called with no
-- subquery in its argument.
create function private.queue_moved_signals(p_models text[])
returns table (topic text, payload jsonb)
language sql stable
as $$
  select 'queue:' || m, jsonb_build_object('model_id', m)
    from unnest(p_models) m
   where (select true from public.jobs q
           where q.status = 'queued' and q.model_id = m
           order by q.priority desc, q.run_at, q.id
           limit 1)
$$;

-- Inserts: as in 20261210300100_admin_jobs_message_per_statement.sql, the messages in one INSERT.
create or replace function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'user:' || n.user_id || ':jobs', 'broadcast', 'job_changed', true,
           private.user_job_changed_payload(n.id, n.status, null, n.stage, n.progress, n.attempt,
                                            n.error_class, n.result, 0, n.updated_at)
      from new_jobs n
    union all
    select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
      from (select array_agg(private.admin_job_entry(n.id, n.model_id, n.status, null, n.attempt, n.progress,
                                                     n.stage, n.error_class, n.updated_at)) as entries
              from new_jobs n) e
     cross join lateral private.admin_jobs_payloads(e.entries) p;
  exception when others then
    raise warning 'job broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;

-- Updates: as in 20261210300200_queue_signal_probe.sql, every message in the statement's one INSERT.
create or replace function private.jobs_after_update() returns trigger
language plpgsql
as $$
declare
  v_broadcast boolean := true;
  v_broadcast_error text;
  v_wake boolean;
begin
  if current_setting('jobhealth.events_written', true) = 'on' then
    return null;
  end if;
  -- The transition check, the timeline, every message (the owners', staff's, the queue signal)
  -- and the wake-up decision in one statement over one join of the transition tables, the
  -- messages in one INSERT.
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
               private.job_event_detail(c.status, c.old_status, c.worker_id, c.lease_expires_at, c.run_at,
                                        c.error_class, c.error_message)
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
        union all
        -- Staff: every change but a running job's progress, in one message per 200.
        select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
          from (select array_agg(private.admin_job_entry(c.id, c.model_id, c.status, c.old_status, c.attempt,
                                                         c.progress, c.stage, c.error_class, c.updated_at)) as entries
                  from changed c
                 where v_broadcast
                   and (c.status is distinct from c.old_status or c.status <> 'running')) e
         cross join lateral private.admin_jobs_payloads(e.entries) p
        union all
        -- The queue signal: the models whose jobs left the queue, while others of them still wait.
        select s.topic, 'broadcast', 'queue_moved', true, s.payload
          from (select array_agg(distinct c.model_id) as models
                  from changed c
                 where v_broadcast and c.old_status = 'queued' and c.status <> 'queued') m
         cross join lateral private.queue_moved_signals(m.models) s
      )
      select bool_or(c.status = 'queued' and c.old_status <> 'queued' and c.run_at <= now())
        into v_wake
        from changed c;
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

-- complete_jobs: as in 20261210300100_admin_jobs_message_per_statement.sql, the messages in one INSERT.
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
      ), messages as (
        -- The owners' messages and staff's one for the statement's completions, as the jobs
        -- trigger writes them, in one INSERT.
        insert into realtime.messages (topic, extension, event, private, payload)
        select 'user:' || d.user_id || ':jobs', 'broadcast', 'job_changed', true,
               private.user_job_changed_payload(d.id, 'succeeded', 'running', d.stage, d.progress, d.attempt,
                                                d.error_class, d.result, 0, d.updated_at)
          from done d
         where v_own_writes
        union all
        select 'admin:jobs', 'broadcast', 'jobs_changed', true, p
          from (select array_agg(private.admin_job_entry(d.id, d.model_id, 'succeeded', 'running', d.attempt,
                                                         d.progress, d.stage, d.error_class, d.updated_at)) as entries
                  from done d
                 where v_own_writes) e
         cross join lateral private.admin_jobs_payloads(e.entries) p
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
