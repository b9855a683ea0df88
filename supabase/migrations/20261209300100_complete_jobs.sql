-- What one job costs, part four: completing jobs in batches.
--
-- complete_job completed one job per call: its role check, settings, exception block
-- (a subtransaction), statement, trigger firing and commit were paid once per job, and a worker
-- whose jobs end together made one round trip each. complete_jobs completes any number of jobs in
-- one statement, each fenced by its own lease token, with the same timeline rows and messages
-- complete_job wrote; graphile-worker's complete_jobs is the model. The worker sends the
-- completions that land in the same tick in one call (supabase/functions/job-worker/pipeline.ts).
-- complete_job stays, as the one-element case of complete_jobs, so a completion is written one
-- way. Per call, the role check and the actor are read once (assignments, not PERFORM: a PERFORM
-- runs a SELECT through the executor) and nothing is evaluated per job that can be per call.
--
-- At one job, which is how jobs end when they end apart, the call is kept to the cost of the
-- complete_job it replaced (measured in turns on one database; docs/benchmarks.md, Per-call
-- costs): the completing statement runs on its generic plan (below); the check that no job is
-- listed twice is nested under v_n > 1 (a condition holding a subquery is not a simple expression,
-- so PL/pgSQL would run it through the executor on every call, one job included); one completed
-- job's row is assigned and returned with RETURN NEXT, not a second statement; complete_job is
-- PL/pgSQL, whose statement keeps its plan for the session (a SQL function's body is planned on
-- every call).
set local lock_timeout = '5s';

-- complete_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_results jsonb default null)
--   returns table (job_id uuid, outcome text, status text)   (service_role)
-- running -> succeeded for every (job id, lease token) pair whose job still runs under that
-- token, in one statement; every other pair is fenced and changes nothing. p_results is null (no
-- result for any job) or a JSON array as long as the ids whose i-th element is the i-th job's
-- result (a JSON null for none). One row per pair, in the order given: outcome 'succeeded' with
-- status 'succeeded', or outcome 'fenced' with the job's current status (null for an unknown
-- job or a null id).
-- Errors: 42501 not service_role; 22023 no ids, more than 500, as many tokens as ids not given,
--         a job listed twice, results not an array as long as the ids.
--
-- Its own writes. This is the call every job ends with, so it completes its jobs in one statement:
-- data-modifying CTEs over the UPDATE's RETURNING write each job's timeline row and its two
-- broadcasts, the very rows jobs_after_update would write (from running, since only a running job
-- holds the lease token; to succeeded; actor 'worker'; detail {}; the payloads of
-- private.job_changed_payload and private.user_job_changed_payload, nothing refunded). For that one
-- statement it sets the transaction-local flag jobhealth.events_written = 'on', and clears it
-- after; jobs_after_update returns at once while the flag is on, instead of starting a second
-- statement for the rows the UPDATE already had in hand (docs/benchmarks.md, Schema costs). The
-- flag is set inside an exception block: if the statement fails, the flag and the writes roll back
-- together and the completion runs once more as a plain UPDATE, where the trigger does everything
-- as for any other update (a failing broadcast then only warns, an error of the completion itself
-- fails the call). Every other update of jobs, a superuser's by hand included, goes through the
-- trigger alone. The flag is trusted like jobhealth.actor_role: no API role can run SQL to set it
-- (PostgREST only sets request.* settings). The result rows are built after the block, so a first
-- attempt that failed has returned nothing.
create function public.complete_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_results jsonb default null)
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
revoke all on function public.complete_jobs(uuid[], uuid[], jsonb) from public, anon, authenticated;
grant execute on function public.complete_jobs(uuid[], uuid[], jsonb) to service_role;

-- complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null) returns jsonb
-- The one-element case of complete_jobs: {"outcome": "succeeded", "status": "succeeded"} or
-- {"outcome": "fenced", "status": <current or null>} (nothing changed). Errors: 42501 not
-- service_role. Was 20261208260100_job_cost_message_payloads.sql's own statement; now one way.
-- PL/pgSQL, not SQL: Postgres plans a SQL function's body again on every call, a PL/pgSQL
-- function's statement keeps its plan for the session. Its grants are kept by CREATE OR REPLACE.
create or replace function public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_outcome text;
  v_status text;
begin
  select c.outcome, c.status into v_outcome, v_status
    from public.complete_jobs(array[p_job_id], array[p_lease_token], jsonb_build_array(p_result)) c;
  return jsonb_build_object('outcome', v_outcome, 'status', v_status);
end;
$$;
