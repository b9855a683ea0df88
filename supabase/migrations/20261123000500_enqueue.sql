-- An end user's side of the queue: putting a job in, and seeing where it stands.

-- create_job(p_model_id text, p_prompt text, p_options jsonb default '{}') returns public.jobs
-- For signed-in users (any app role with a user id). Validates everything before writing, then
-- inserts the job (its 'queued' event is written by trigger) and charges its credits, all in
-- one transaction: a job without its charge, or a charge without its job, cannot exist.
--   options: {"aspect_ratio": "1:1"|"3:4"|"4:3"|"9:16"|"16:9", "number_of_images": 1..4}
--   cost:    models.credits_per_job * number_of_images
-- A paused model accepts jobs: they wait queued until it is resumed.
-- Errors: 42501 not signed in; 22023 bad prompt / options / unknown or disabled model;
--         PT429 too many queued jobs (limit 20 per user); PT402 not enough credits.
create function public.create_job(p_model_id text, p_prompt text, p_options jsonb default '{}'::jsonb)
returns public.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['user', 'support', 'admin'], 'create_job');
  v_user uuid := auth.uid();
  v_prompt text := btrim(coalesce(p_prompt, ''));
  v_options jsonb := coalesce(p_options, '{}'::jsonb);
  v_key text;
  v_images integer := 1;
  v_model public.models;
  v_queued integer;
  v_job public.jobs;
  -- 20 queued jobs per user: far above what a person clicks, low enough that one script cannot
  -- flood the shared queue ahead of everyone else.
  c_queued_limit constant integer := 20;
begin
  if v_prompt = '' then
    raise exception 'prompt is required' using errcode = '22023';
  end if;
  if length(v_prompt) > 4000 then
    raise exception 'prompt is too long: % characters, the limit is 4000', length(v_prompt) using errcode = '22023';
  end if;
  if jsonb_typeof(v_options) <> 'object' then
    raise exception 'options must be a JSON object' using errcode = '22023';
  end if;
  for v_key in select jsonb_object_keys(v_options) loop
    if v_key not in ('aspect_ratio', 'number_of_images') then
      raise exception 'unknown option "%": allowed are aspect_ratio, number_of_images', v_key using errcode = '22023';
    end if;
  end loop;
  if v_options ? 'aspect_ratio' and (jsonb_typeof(v_options -> 'aspect_ratio') <> 'string'
      or v_options ->> 'aspect_ratio' not in ('1:1', '3:4', '4:3', '9:16', '16:9')) then
    raise exception 'aspect_ratio must be one of 1:1, 3:4, 4:3, 9:16, 16:9' using errcode = '22023';
  end if;
  if v_options ? 'number_of_images' then
    if jsonb_typeof(v_options -> 'number_of_images') <> 'number'
        or (v_options ->> 'number_of_images') !~ '^[1-4]$' then
      raise exception 'number_of_images must be an integer from 1 to 4' using errcode = '22023';
    end if;
    v_images := (v_options ->> 'number_of_images')::integer;
  end if;

  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'unknown model "%"', coalesce(p_model_id, '') using errcode = '22023';
  end if;
  if not v_model.enabled then
    raise exception 'model "%" is disabled', p_model_id using errcode = '22023';
  end if;

  -- Serialise this user's enqueues so two concurrent calls cannot both pass the limit.
  perform pg_advisory_xact_lock(hashtextextended('create_job:' || v_user::text, 0));
  select count(*) into v_queued from public.jobs where user_id = v_user and status = 'queued';
  if v_queued >= c_queued_limit then
    raise exception 'too many queued jobs: you have %, the limit is %', v_queued, c_queued_limit
      using errcode = 'PT429';
  end if;

  perform private.set_actor(v_role);
  insert into public.jobs (user_id, model_id, prompt, options, max_attempts, credits_cost, deadline_at)
  values (v_user, v_model.id, v_prompt, v_options, v_model.max_attempts, v_model.credits_per_job * v_images,
          now() + make_interval(secs => v_model.deadline_seconds))
  returning * into v_job;
  perform private.charge_job(v_user, v_job.id, 1, v_job.credits_cost, 'create_job');
  return v_job;
end;
$$;
revoke all on function public.create_job(text, text, jsonb) from public, anon, service_role;
grant execute on function public.create_job(text, text, jsonb) to authenticated;

-- job_queue_position(p_job_id uuid) returns jsonb   (the job's owner; support and admin any job)
-- For the job's page: how many jobs a worker will claim before it, how many of its model's jobs
-- are running, and the model's recent Gemini latency, from which the page computes an ETA. The
-- page asks again whenever 'queue:<model_id>' signals that the queue moved
-- (20261123001000_realtime_topics.sql).
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
