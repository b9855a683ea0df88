-- generate_again(p_job_id uuid) returns public.jobs
-- (end users) A new job with the same model, prompt and options as one of the caller's ended jobs
-- (succeeded, failed or cancelled), made by create_job itself: the same validation, the same
-- charge, the same queued-jobs limit and the same errors as any new job, and nothing of the old
-- job changes. The prompt is read here rather than sent back by the browser, so "again" means
-- exactly what ran before. Staff have their own audited retry and are refused.
-- Errors: 42501 not an end user; PT404 no such job of the caller's (another user's job is not
-- found); PT409 the job is still queued or running, or its content was deleted; and whatever
-- create_job raises (PT402 not enough credits, PT429 too many queued jobs, 22023 model disabled).
-- A bounded wait for the catalog locks, as every migration since the linter sets.
set local lock_timeout = '5s';

create function public.generate_again(p_job_id uuid)
returns public.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  perform private.require_role(array['user'], 'generate_again');
  select * into v_job from public.jobs j where j.id = p_job_id and j.user_id = (select auth.uid());
  if not found then
    raise exception 'job not found' using errcode = 'PT404';
  end if;
  if v_job.content_deleted_at is not null then
    raise exception 'job was deleted: its prompt is gone' using errcode = 'PT409';
  end if;
  if v_job.status in ('queued', 'running') then
    raise exception 'job is %: it can be generated again once it has finished', v_job.status using errcode = 'PT409';
  end if;
  return public.create_job(v_job.model_id, v_job.prompt, v_job.options);
end;
$$;
revoke all on function public.generate_again(uuid) from public, anon, service_role;
grant execute on function public.generate_again(uuid) to authenticated;
