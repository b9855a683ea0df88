-- Where a job stands in the queue, for its owner's job page: how many jobs a worker will claim
-- before it, how many of its model's jobs are running, and the model's recent Gemini latency,
-- from which the page computes an ETA.
--
-- Keeping it live without polling. An end user's postgres_changes subscription sees only their
-- own rows (RLS), but their position moves when *other users'* jobs leave the queue. So every
-- statement that takes queued jobs out of the queue (a claim, a cancel, a fail-and-refund)
-- broadcasts one message per model it touched, on the private topic 'queue:<model_id>', event
-- 'queue_moved', payload {"model_id"} and nothing else. A waiting job page listens on its
-- model's topic and asks job_queue_position again (throttled to about once a second).
-- Why this is safe to show every signed-in user:
--   * the payload carries no job id, user id, prompt or count: only the model id, which every
--     signed-in user already reads from public.models; what a listener learns is "some job of
--     this model left the queue just now", the same thing their own position falling tells them;
--   * the topic is private: joining needs a signed-in user's JWT (the policy below), so the
--     anon key alone, which ships in every browser bundle, cannot watch the service's throughput;
--   * nobody can send on it: there is no insert policy on realtime.messages for these topics, so
--     a client cannot fake a signal to make other pages refetch;
--   * the numbers themselves come from job_queue_position, which answers only the job's owner
--     (and staff), and gives counts, never other users' rows.
-- Volume: one message per model per claim statement, not per job (a claim of 50 jobs sends one),
-- next to the admin topic's one message per changed job.

-- job_queue_position(p_job_id uuid) returns jsonb   (the job's owner; support and admin any job)
-- {"job_id", "model_id", "status",
--  "ahead":          jobs of the same model a worker will claim before this one (queued jobs
--                    only, else null), at most 1000,
--  "ahead_capped":   true when there are 1000 or more (show "1000+"),
--  "running":        running jobs of the model (at most 1000): how many are served at once,
--  "model_paused":   the model accepts jobs but no worker claims them while paused,
--  "latency_p50_ms": median Gemini call time of the model over the last 15 minutes (null
--                    without calls), "latency_calls": how many calls that median is of}
-- Each count stops at 1000 rows, so the cost is bounded however long the queue is. The latency
-- is the merged per-minute histograms of the rollups (within about 12%), plus the raw calls not
-- rolled up yet when the rollups hold fewer than 20 calls (a fresh system, or a quiet model):
-- about 15 primary-key rows in the usual case.
-- Returns null when the job does not exist or is not the caller's: the same answer for both,
-- as RLS gives for the row itself, so no one learns that another user's job id exists.
-- Errors: 42501 anon (and service_role: not a page).
create function public.job_queue_position(p_job_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['user', 'support', 'admin'], 'job_queue_position');
  v_job public.jobs;
  v_higher integer := 0;
  v_same integer := 0;
  v_ahead integer;
  v_running integer;
  v_paused boolean;
  v_mark timestamptz;
  v_hist bigint[];
  v_calls bigint;
  c_cap constant integer := 1000;
  c_window constant interval := interval '15 minutes';
begin
  select * into v_job from public.jobs where id = p_job_id;
  if not found or (v_role = 'user' and v_job.user_id is distinct from auth.uid()) then
    return null;
  end if;

  if v_job.status = 'queued' then
    -- Higher priority first (claimable by the time this job is), then the same priority with an
    -- earlier (run_at, id): two range scans of jobs_claim_idx, the claim's own index, each
    -- stopped at the cap. They read the queue ahead of the job and nothing else: never finished
    -- jobs, never the jobs behind it (another model's jobs ahead are skipped by a filter). The
    -- ORDER BY in index order is for the planner: it cannot know that finished jobs (most of
    -- the table) never match, over-estimates the matches, and without it picks a sequential
    -- scan that "stops after 1000 rows" but reads the whole table when fewer are ahead. A
    -- model-leading index was tried and not chosen by the planner over this one, so it is not
    -- added (it would only cost every enqueue an index insert).
    select count(*)::integer into v_higher from (
      select 1 from public.jobs j
       where j.status = 'queued' and j.model_id = v_job.model_id and j.priority > v_job.priority
         and j.run_at <= greatest(now(), v_job.run_at)
       order by j.priority desc, j.run_at, j.id
       limit c_cap) x;
    select count(*)::integer into v_same from (
      select 1 from public.jobs j
       where j.status = 'queued' and j.model_id = v_job.model_id and j.priority = v_job.priority
         and (j.run_at, j.id) < (v_job.run_at, v_job.id)
       order by j.run_at, j.id
       limit c_cap) x;
    v_ahead := least(c_cap, v_higher + v_same);
  end if;

  select count(*)::integer into v_running from (
    select 1 from public.jobs j where j.status = 'running' and j.model_id = v_job.model_id limit c_cap) x;
  select m.paused into v_paused from public.models m where m.id = v_job.model_id;

  select coalesce(rolled_until, '-infinity') into v_mark from public.metrics_rollup_state where id;
  select array_agg(coalesce(s, 0) order by i), sum(coalesce(s, 0)) into v_hist, v_calls
    from (
      select i, sum(h.latency_hist[i])::bigint as s
        from generate_series(1, 40) i
        left join public.metrics_provider_minute h
          on h.model_id = v_job.model_id and h.minute >= now() - c_window and h.minute < v_mark
       group by i) b;
  if v_calls < 20 then
    select array_agg(coalesce(v_hist[i], 0) + coalesce(t.n, 0) order by i), v_calls + coalesce(sum(t.n), 0)
      into v_hist, v_calls
      from generate_series(1, 40) i
      left join (
        select private.latency_bin(c.duration_ms) as bin, count(*)::bigint as n
          from (select pc.duration_ms from public.provider_calls pc
                 where pc.model_id = v_job.model_id and pc.recorded_at >= greatest(v_mark, now() - c_window)
                 limit 500) c
         group by 1) t on t.bin = i;
  end if;

  return jsonb_build_object(
    'job_id', v_job.id,
    'model_id', v_job.model_id,
    'status', v_job.status,
    'ahead', v_ahead,
    'ahead_capped', coalesce(v_ahead >= c_cap, false),
    'running', v_running,
    'model_paused', coalesce(v_paused, false),
    'latency_p50_ms', case when v_calls > 0 then private.histogram_percentile(v_hist, 0.5) end,
    'latency_calls', v_calls);
end;
$$;
revoke all on function public.job_queue_position(uuid) from public, anon, service_role;
grant execute on function public.job_queue_position(uuid) to authenticated;

-- The signal. Statement-level with transition tables (one call per statement, like the other
-- job triggers); the subtransaction of the exception block is entered only when some queued job
-- actually left the queue, so heartbeats and completions pay one empty join and nothing more.
-- As with every broadcast here, a failure to send only warns: it never fails the claim.
create function private.jobs_queue_signal() returns trigger
language plpgsql
as $$
declare
  v_models text[];
begin
  select array_agg(distinct o.model_id) into v_models
    from old_jobs o join new_jobs n on n.id = o.id
   where o.status = 'queued' and n.status <> 'queued';
  if v_models is null then
    return null;
  end if;
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'queue:' || m, 'broadcast', 'queue_moved', true, jsonb_build_object('model_id', m)
      from unnest(v_models) m;
  exception when others then
    raise warning 'queue signal failed: %', sqlerrm;
  end;
  return null;
end;
$$;
revoke all on function private.jobs_queue_signal() from public;
create trigger jobs_queue_signal after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function private.jobs_queue_signal();

-- Joining 'queue:<model>' needs a signed-in user; there is deliberately no insert policy.
create policy queue_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() like 'queue:%' and (select public.app_role()) in ('user', 'support', 'admin'));
