-- create_job(p_model_id text, p_prompt text, p_options jsonb default '{}') returns public.jobs
-- For signed-in users (any app role with a user id). Validates everything before writing, then
-- inserts the job (its 'queued' event is written by trigger) and charges its credits, all in
-- one transaction: a job without its charge, or a charge without its job, cannot exist.
--   options: {"aspect_ratio": "1:1"|"3:4"|"4:3"|"9:16"|"16:9", "number_of_images": 1..4}
--   cost:    models.credits_per_job * number_of_images
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
