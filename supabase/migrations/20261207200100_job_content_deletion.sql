-- An end user deletes one of their own jobs: delete_job. Before, only deleting the whole account
-- erased anything (20261206000200_user_deletion.sql); a person who wants one image and its prompt
-- gone had no way to do it. The policy is the account deletion's, for one job:
--
-- * The content goes: prompt, options, result and error message are blanked, and every Storage
--   object of the job (the images and the thumbnail, <user_id>/<job_id>*) is queued for erasure
--   through the Storage API, which the worker empties (hosted Storage refuses a DELETE on
--   storage.objects). Both deletions blank through one function, private.erase_job_contents.
-- * The accounting stays: the job row (model, status, cost, timings), its timeline, provider
--   calls, ledger rows and audit rows. jobs.content_deleted_at says that and when the content
--   went, for staff; stage 'deleted' rides on the job_changed broadcast the update writes anyway,
--   so the owner's open tabs drop the card without a message of its own.
-- * Only an ended job (succeeded, failed, cancelled) of one's own: a queued job is cancelled
--   first, a running one finishes first. Staff have their own audited actions and may not delete.
-- * A job whose content is gone never runs again: retry_jobs skips it with the reason.
--
-- Queuing an object erasure now wakes the worker (the same wake-up an enqueue uses), so the
-- objects go within moments instead of at the next sweep.

-- Adding a column to jobs waits for its lock behind the running claims; bounded, so a deploy
-- that cannot get it fails and is retried instead of stalling every query queued behind it.
set local lock_timeout = '5s';

alter table public.jobs add column content_deleted_at timestamptz;
comment on column public.jobs.content_deleted_at is
  'When the content (prompt, options, result, error message, stored images) was erased: by its owner (delete_job) or with the account.';

-- private.erase_job_contents(p_user_id uuid, p_job_id uuid default null)
--   returns (jobs_blanked integer, objects_queued integer)
-- Blanks the content of one job of the user, or of all their jobs when p_job_id is null, and
-- queues their Storage objects for erasure: the job's own (<user_id>/<job_id>..., every image,
-- thumbnail and any leftover of an earlier attempt), or the user's whole folder. A job id is a
-- fixed-length uuid, so the prefix names one job's objects and no other's.
create function private.erase_job_contents(p_user_id uuid, p_job_id uuid default null)
returns table (jobs_blanked integer, objects_queued integer)
language plpgsql
as $$
begin
  update public.jobs j
     set prompt = '', options = '{}'::jsonb, result = null, error_message = null, stage = 'deleted',
         content_deleted_at = coalesce(j.content_deleted_at, now()), updated_at = now()
   where j.user_id = p_user_id and (p_job_id is null or j.id = p_job_id);
  get diagnostics jobs_blanked = row_count;

  insert into private.object_erasures (bucket_id, name)
  select o.bucket_id, o.name from storage.objects o
   where o.bucket_id = 'results' and o.name like p_user_id::text || '/' || coalesce(p_job_id::text, '') || '%';
  get diagnostics objects_queued = row_count;
  return next;
end;
$$;
revoke all on function private.erase_job_contents(uuid, uuid) from public;

-- The account deletion, as before, blanking through erase_job_contents.
create or replace function private.erase_deleted_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_credits bigint := 0;
  v_cancelled integer := 0;
  v_balance bigint;
  v_jobs integer;
  v_objects integer;
begin
  perform set_config('jobhealth.actor_id', '', true);
  perform set_config('jobhealth.actor_role', 'service_role', true);
  perform set_config('jobhealth.reason', 'account deleted', true);
  for v_job in
    select * from public.jobs j where j.user_id = old.id and j.status in ('queued', 'running') order by j.id for update
  loop
    v_credits := v_credits + private.refund_job(v_job, 'account deleted');
    update public.jobs j
       set status = 'cancelled', lease_token = null, lease_expires_at = null, finished_at = now(),
           stage = 'cancelled', updated_at = now()
     where j.id = v_job.id;
    v_cancelled := v_cancelled + 1;
  end loop;

  select balance into v_balance from public.credit_accounts where user_id = old.id for update;
  if coalesce(v_balance, 0) > 0 then
    insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
    values (old.id, -v_balance, 'adjustment', 'service_role', 'account deleted: remaining credits forfeited');
  end if;

  select e.jobs_blanked, e.objects_queued into v_jobs, v_objects from private.erase_job_contents(old.id) e;

  insert into public.audit_log (actor_id, actor_role, action, target_user_id, reason, credits_moved, detail)
  values (null, 'service_role', 'delete_user', old.id, 'account deleted', v_credits - coalesce(v_balance, 0),
          jsonb_build_object('jobs_blanked', v_jobs, 'jobs_cancelled', v_cancelled,
                             'credits_forfeited', coalesce(v_balance, 0), 'objects_queued', v_objects));
  return old;
end;
$$;
revoke all on function private.erase_deleted_user() from public;

-- Queued erasures wake the worker, which empties the queue on every invocation. A row trigger:
-- Postgres folds the identical NOTIFYs of one transaction into one, and on hosted projects
-- invoke_job_worker calls the function at most once a second however many rows come.
create trigger object_erasures_dispatch after insert on private.object_erasures
  for each row execute function private.jobs_dispatch();

-- delete_job(p_job_id uuid) returns jsonb
-- (end users) Erases the content of one of the caller's ended jobs (above) and writes one audit
-- row (action delete_job, actor the owner). Safe to call twice: a job already deleted returns its
-- deletion again and queues nothing more.
-- Returns {"job_id", "content_deleted_at", "objects_queued"}.
-- Errors: 42501 not an end user (staff included); PT404 no such job of the caller's (another
-- user's job is not found: its existence is not revealed); PT409 the job is queued or running.
create function public.delete_job(p_job_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_objects integer;
begin
  perform private.require_role(array['user'], 'delete_job');
  select * into v_job from public.jobs j where j.id = p_job_id and j.user_id = (select auth.uid()) for update;
  if not found then
    raise exception 'job not found' using errcode = 'PT404';
  end if;
  if v_job.content_deleted_at is not null then
    return jsonb_build_object('job_id', v_job.id, 'content_deleted_at', v_job.content_deleted_at, 'objects_queued', 0);
  end if;
  if v_job.status = 'queued' then
    raise exception 'job is queued: cancel it first, then delete it' using errcode = 'PT409';
  elsif v_job.status = 'running' then
    raise exception 'job is running: delete it once it has finished' using errcode = 'PT409';
  end if;

  select e.objects_queued into v_objects from private.erase_job_contents(v_job.user_id, v_job.id) e;
  perform private.write_audit('delete_job', array[v_job.id], 'deleted by its owner',
    jsonb_build_object(v_job.id::text, v_job.status), jsonb_build_object(v_job.id::text, v_job.status), 0,
    v_job.user_id, jsonb_build_object('objects_queued', v_objects));
  select * into v_job from public.jobs j where j.id = p_job_id;
  return jsonb_build_object('job_id', v_job.id, 'content_deleted_at', v_job.content_deleted_at, 'objects_queued', v_objects);
end;
$$;
revoke all on function public.delete_job(uuid) from public, anon, service_role;
grant execute on function public.delete_job(uuid) to authenticated;

-- The staff bulk actions (20261123000700_staff_actions_and_audit.sql), unchanged but for one
-- rule: a job whose content was deleted is skipped, saying so. Only retry could otherwise act on
-- one (deletion needs an ended job), and it would run an empty prompt on the owner's credits.
create or replace function private.apply_job_action(p_action text, p_ids uuid[], p_reason text)
returns table (job_id uuid, outcome text, status text, message text)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_role text;
  v_reason text;
  v_id uuid;
  v_job public.jobs;
  v_model public.models;
  v_before jsonb := '{}'::jsonb;
  v_after jsonb := '{}'::jsonb;
  v_done uuid[] := '{}';
  v_credits bigint := 0;
  v_from text;
  v_skipped integer := 0;
  v_missing integer := 0;
begin
  v_role := private.require_role(case p_action
    when 'fail_and_refund' then array['support', 'admin']
    when 'cancel' then array['user', 'admin']
    else array['admin'] end, p_action || '_jobs');
  v_reason := private.check_reason(p_reason);
  perform private.check_ids(p_ids);
  perform private.set_actor(v_role, v_reason);

  -- Sorted ids: two bulk calls over overlapping selections lock in the same order, so they
  -- queue behind each other instead of deadlocking.
  for v_id in select distinct u from unnest(p_ids) u order by 1 loop
    select * into v_job from public.jobs j where j.id = v_id for update;
    if not found or (v_role = 'user' and v_job.user_id is distinct from auth.uid()) then
      v_missing := v_missing + 1;
      job_id := v_id; outcome := 'not_found'; status := null; message := 'job not found';
      return next;
      continue;
    end if;
    v_from := v_job.status;

    if v_job.content_deleted_at is not null then
      v_skipped := v_skipped + 1;
      job_id := v_id; outcome := 'skipped'; status := v_from; message := 'its owner deleted this job';
      return next;
      continue;
    elsif p_action = 'cancel' and (v_from = 'queued' or v_from = 'running' and v_role = 'admin') then
      v_credits := v_credits + private.refund_job(v_job, 'cancel_jobs: ' || v_reason);
      update public.jobs j
         set status = 'cancelled', lease_token = null, lease_expires_at = null, finished_at = now(),
             stage = 'cancelled', updated_at = now()
       where j.id = v_id returning * into v_job;
    elsif p_action = 'fail_and_refund' and v_from in ('queued', 'running') then
      v_credits := v_credits + private.refund_job(v_job, 'fail_and_refund_jobs: ' || v_reason);
      update public.jobs j
         set status = 'failed', error_class = 'failed_by_staff', error_message = v_reason,
             lease_token = null, lease_expires_at = null, finished_at = now(), stage = 'failed', updated_at = now()
       where j.id = v_id returning * into v_job;
    elsif p_action = 'requeue' and v_from = 'running' then
      update public.jobs j
         set status = 'queued', run_at = now(), lease_token = null, lease_expires_at = null, worker_id = null,
             stage = 'requeued', updated_at = now()
       where j.id = v_id returning * into v_job;
    elsif p_action = 'retry' and v_from in ('failed', 'cancelled') then
      select * into v_model from public.models m where m.id = v_job.model_id;
      if not v_model.enabled then
        v_skipped := v_skipped + 1;
        job_id := v_id; outcome := 'skipped'; status := v_from;
        message := format('model "%s" is disabled', v_model.id);
        return next;
        continue;
      end if;
      begin
        perform private.charge_job(v_job.user_id, v_job.id, v_job.charge_seq + 1, v_job.credits_cost, 'retry_jobs: ' || v_reason);
      exception when sqlstate 'PT402' then
        v_skipped := v_skipped + 1;
        job_id := v_id; outcome := 'skipped'; status := v_from; message := sqlerrm;
        return next;
        continue;
      end;
      update public.jobs j
         set status = 'queued', run_at = now(), charge_seq = j.charge_seq + 1,
             max_attempts = j.attempt + v_model.max_attempts,
             deadline_at = now() + make_interval(secs => v_model.deadline_seconds),
             error_class = null, error_message = null, result = null, progress = 0, stage = 'retried',
             finished_at = null, updated_at = now()
       where j.id = v_id returning * into v_job;
      v_credits := v_credits - v_job.credits_cost;
    else
      v_skipped := v_skipped + 1;
      job_id := v_id; outcome := 'skipped'; status := v_from;
      message := case
        when p_action = 'cancel' and v_from = 'running' then 'only an admin can cancel a running job'
        else format('cannot %s a %s job', replace(p_action, '_', ' '), v_from) end;
      return next;
      continue;
    end if;

    v_done := v_done || v_id;
    v_before := v_before || jsonb_build_object(v_id::text, v_from);
    v_after := v_after || jsonb_build_object(v_id::text, v_job.status);
    job_id := v_id; outcome := 'done'; status := v_job.status; message := null;
    return next;
  end loop;

  perform private.write_audit(p_action || '_jobs', v_done, v_reason, v_before, v_after, v_credits, null,
    jsonb_build_object('requested', cardinality(p_ids), 'done', cardinality(v_done),
                       'skipped', v_skipped, 'not_found', v_missing));
end;
$$;
revoke all on function private.apply_job_action(text, uuid[], text) from public;
