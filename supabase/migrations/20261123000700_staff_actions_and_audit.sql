-- What staff do to jobs and users, and the audit row each action leaves (public.audit_log,
-- append-only: 20261123000200_tables.sql). Every staff action takes a reason, checks the caller's
-- role itself, and writes its audit row in the same transaction as the change. Model registry
-- actions live with the models (20261123000800_models_and_provider_health.sql), goodwill grants
-- with the credits (20261123000400_credits_and_refunds.sql); both audit through write_audit.

-- The one writer of audit rows: the actor and role come from the caller's JWT.
create function private.write_audit(
  p_action text, p_job_ids uuid[], p_reason text, p_before jsonb, p_after jsonb,
  p_credits_moved bigint, p_target_user_id uuid default null, p_detail jsonb default '{}'::jsonb
) returns void
language sql
as $$
  insert into public.audit_log (actor_id, actor_role, action, job_ids, target_user_id, reason, before, after, credits_moved, detail)
  values (auth.uid(), public.app_role(), p_action, coalesce(p_job_ids, '{}'), p_target_user_id, p_reason,
          p_before, p_after, coalesce(p_credits_moved, 0), coalesce(p_detail, '{}'::jsonb));
$$;
revoke all on function private.write_audit(text, uuid[], text, jsonb, jsonb, bigint, uuid, jsonb) from public;

-- Bulk actions on jobs by id, for the admin console, support, and end users' own cancels:
--   retry_jobs(ids uuid[], reason text)           admin            failed|cancelled -> queued
--   requeue_jobs(ids uuid[], reason text)         admin            running -> queued (fences the worker)
--   cancel_jobs(ids uuid[], reason text)          admin: queued|running -> cancelled;
--                                                 user: own queued jobs only
--   fail_and_refund_jobs(ids uuid[], reason text) support, admin   queued|running -> failed
-- Each returns one row per distinct id: (job_id, outcome 'done'|'skipped'|'not_found',
-- status after, message), acting on the jobs whose state allows it, and writes one audit row for
-- the call (affected ids, reason, statuses before and after, credits moved). A job another user
-- owns is 'not_found' to an end user: its existence is not revealed.
-- Cancel and fail-and-refund refund the job's current charge (exactly once, see credit_ledger).
-- Retry re-charges: a failed or cancelled job was refunded, so running it again costs credits
-- again; a user without enough credits gets 'skipped' with the same message as create_job. A
-- retry grants the model's max_attempts afresh and a fresh deadline.
-- Errors (whole call, nothing written): 42501 role not allowed; 22023 reason missing or over
-- 500 characters, ids empty, null or over 1000.
create function private.apply_job_action(p_action text, p_ids uuid[], p_reason text)
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

    if p_action = 'cancel' and (v_from = 'queued' or v_from = 'running' and v_role = 'admin') then
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

create function public.retry_jobs(ids uuid[], reason text)
returns table (job_id uuid, outcome text, status text, message text)
language sql security definer set search_path = ''
as $$ select * from private.apply_job_action('retry', ids, reason) $$;

create function public.requeue_jobs(ids uuid[], reason text)
returns table (job_id uuid, outcome text, status text, message text)
language sql security definer set search_path = ''
as $$ select * from private.apply_job_action('requeue', ids, reason) $$;

create function public.cancel_jobs(ids uuid[], reason text)
returns table (job_id uuid, outcome text, status text, message text)
language sql security definer set search_path = ''
as $$ select * from private.apply_job_action('cancel', ids, reason) $$;

create function public.fail_and_refund_jobs(ids uuid[], reason text)
returns table (job_id uuid, outcome text, status text, message text)
language sql security definer set search_path = ''
as $$ select * from private.apply_job_action('fail_and_refund', ids, reason) $$;

revoke all on function public.retry_jobs(uuid[], text) from public, anon, service_role;
revoke all on function public.requeue_jobs(uuid[], text) from public, anon, service_role;
revoke all on function public.cancel_jobs(uuid[], text) from public, anon, service_role;
revoke all on function public.fail_and_refund_jobs(uuid[], text) from public, anon, service_role;
grant execute on function public.retry_jobs(uuid[], text) to authenticated;
grant execute on function public.requeue_jobs(uuid[], text) to authenticated;
grant execute on function public.cancel_jobs(uuid[], text) to authenticated;
grant execute on function public.fail_and_refund_jobs(uuid[], text) to authenticated;

-- Support looks users up by email. auth.users is not exposed through the API (and must not be:
-- it holds password hashes and tokens), so staff get these two narrow, read-only functions
-- returning the columns the console shows and nothing else.
--
-- find_users(p_email text) returns table (id, email, role, balance, created_at, last_sign_in_at)
--   (support, admin) Case-insensitive: an exact email first, then emails starting with the text,
--   at most 20 rows. Errors: 42501 not staff; 22023 text empty or over 320 characters.
-- get_user_profile(p_user_id uuid) returns the same row for one user, or no row.   (support, admin)
-- Reads are not audited (staff read everything by policy); what they then do to a user is.

-- The one place that says what a user looks like to staff (the role as app_role reads it).
create view private.user_profiles as
  select u.id, u.email::text as email,
         case u.raw_app_meta_data ->> 'role' when 'admin' then 'admin' when 'support' then 'support' else 'user' end as role,
         coalesce(a.balance, 0)::bigint as balance, u.created_at, u.last_sign_in_at, u.deleted_at
    from auth.users u
    left join public.credit_accounts a on a.user_id = u.id;
revoke all on private.user_profiles from public;

create function public.find_users(p_email text)
returns table (id uuid, email text, role text, balance bigint, created_at timestamptz, last_sign_in_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_term text := lower(btrim(coalesce(p_email, '')));
begin
  perform private.require_role(array['support', 'admin'], 'find_users');
  if v_term = '' then
    raise exception 'enter an email address or the start of one' using errcode = '22023';
  end if;
  if length(v_term) > 320 then
    raise exception 'email is too long: % characters, the limit is 320', length(v_term) using errcode = '22023';
  end if;
  -- The term is matched as a literal prefix: % and _ typed by staff are not wildcards.
  return query
    select p.id, p.email, p.role, p.balance, p.created_at, p.last_sign_in_at
      from private.user_profiles p
     where p.deleted_at is null
       and lower(p.email) like replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_') || '%'
     order by lower(p.email) = v_term desc, lower(p.email)
     limit 20;
end;
$$;

create function public.get_user_profile(p_user_id uuid)
returns table (id uuid, email text, role text, balance bigint, created_at timestamptz, last_sign_in_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform private.require_role(array['support', 'admin'], 'get_user_profile');
  return query
    select p.id, p.email, p.role, p.balance, p.created_at, p.last_sign_in_at
      from private.user_profiles p
     where p.id = p_user_id;
end;
$$;

revoke all on function public.find_users(text) from public, anon, service_role;
revoke all on function public.get_user_profile(uuid) from public, anon, service_role;
grant execute on function public.find_users(text) to authenticated;
grant execute on function public.get_user_profile(uuid) to authenticated;
