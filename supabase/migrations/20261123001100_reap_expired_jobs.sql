-- reap_expired_jobs(p_limit integer default 500) returns jsonb   (service_role; pg_cron or the
-- local scheduler run it every minute)
-- The lifeline for workers that died or timed out mid-job:
--   * running jobs whose lease expired, with attempts left and time before the deadline, go back
--     to queued with backoff (error class 'lease_expired');
--   * running jobs whose lease expired on their last attempt, and queued or running jobs past
--     their deadline, end failed ('lease_expired' / 'deadline_exceeded') and are refunded.
-- Rows are taken FOR UPDATE SKIP LOCKED: a job some worker is completing right now is left for
-- the next run instead of being waited on. Returns {"requeued", "failed", "refunded_credits"}.
create function public.reap_expired_jobs(p_limit integer default 500)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_requeued integer := 0;
  v_failed integer := 0;
  v_refunded bigint := 0;
  v_job public.jobs;
begin
  perform private.require_role(array['service_role'], 'reap_expired_jobs');
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'limit must be between 1 and 10000' using errcode = '22023';
  end if;
  perform private.set_actor('reaper');

  with expired as (
    select id from public.jobs
     where status = 'running' and lease_expires_at < now()
       and attempt < max_attempts and deadline_at > now()
     order by lease_expires_at
     limit p_limit
     for update skip locked
  )
  update public.jobs j
     set status = 'queued', run_at = now() + private.retry_delay(j.attempt), error_class = 'lease_expired',
         error_message = 'the worker''s lease expired before it finished',
         errors = j.errors || jsonb_build_object('attempt', j.attempt, 'at', now(), 'error_class', 'lease_expired',
                                                 'message', 'the worker''s lease expired before it finished'),
         lease_token = null, lease_expires_at = null, worker_id = null, stage = 'retry_scheduled', updated_at = now()
    from expired
   where j.id = expired.id;
  get diagnostics v_requeued = row_count;

  -- Final failures go one by one through the same refund path as every other failure.
  for v_job in
    select * from public.jobs
     where (status = 'running' and lease_expires_at < now() and (attempt >= max_attempts or deadline_at <= now()))
        or (status in ('queued', 'running') and deadline_at <= now())
     order by deadline_at
     limit p_limit
     for update skip locked
  loop
    update public.jobs
       set status = 'failed',
           error_class = case when deadline_at <= now() then 'deadline_exceeded' else 'lease_expired' end,
           error_message = case when deadline_at <= now() then 'the job passed its deadline'
                                else 'the worker''s lease expired on the last attempt' end,
           lease_token = null, lease_expires_at = null, finished_at = now(), stage = 'failed', updated_at = now()
     where id = v_job.id
    returning * into v_job;
    v_failed := v_failed + 1;
    v_refunded := v_refunded + private.refund_job(v_job, 'reaper: ' || v_job.error_class);
  end loop;

  return jsonb_build_object('requeued', v_requeued, 'failed', v_failed, 'refunded_credits', v_refunded);
end;
$$;
revoke all on function public.reap_expired_jobs(integer) from public, anon, authenticated;
grant execute on function public.reap_expired_jobs(integer) to service_role;
