-- Live job updates.
-- End users: postgres_changes on public.jobs; RLS on jobs limits each user to their own rows.
alter publication supabase_realtime add table public.jobs;

-- Admins and support: Broadcast from Database on the private topic 'admin:jobs', event
-- 'job_changed', one message per changed job with payload {id, user_id, model_id, status,
-- old_status, attempt, progress, stage, error_class, updated_at}: compact, because the System
-- Health screen watches every job and per-subscriber postgres_changes authorisation tops out
-- around 30-40 changes/s. Progress-only updates (heartbeats) are broadcast too, so the admin
-- sees progress move.
--
-- The messages are what realtime.send writes, inserted set-based: one INSERT per statement
-- inside one exception block, where realtime.send would open a subtransaction per row. A claim
-- of 50 jobs would otherwise take 50 subtransaction ids (past 64 the per-backend cache
-- overflows and every snapshot on the server slows down). As with realtime.send, a failed
-- broadcast only warns: it can never fail the job transition that caused it.
create function private.jobs_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    if tg_op = 'INSERT' then
      insert into realtime.messages (topic, extension, event, private, payload)
      select 'admin:jobs', 'broadcast', 'job_changed', true, jsonb_build_object(
               'id', n.id, 'user_id', n.user_id, 'model_id', n.model_id, 'status', n.status, 'old_status', null,
               'attempt', n.attempt, 'progress', n.progress, 'stage', n.stage, 'error_class', n.error_class,
               'updated_at', n.updated_at)
        from new_jobs n;
    else
      insert into realtime.messages (topic, extension, event, private, payload)
      select 'admin:jobs', 'broadcast', 'job_changed', true, jsonb_build_object(
               'id', n.id, 'user_id', n.user_id, 'model_id', n.model_id, 'status', n.status, 'old_status', o.status,
               'attempt', n.attempt, 'progress', n.progress, 'stage', n.stage, 'error_class', n.error_class,
               'updated_at', n.updated_at)
        from new_jobs n join old_jobs o on o.id = n.id;
    end if;
  exception when others then
    raise warning 'job broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;

create trigger jobs_broadcast_on_insert after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function private.jobs_broadcast();
create trigger jobs_broadcast_on_update after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function private.jobs_broadcast();

-- Joining the private topic is a select on realtime.messages evaluated as the joining user
-- with realtime.topic() set: only support and admin may.
create policy admin_jobs_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() = 'admin:jobs' and (select public.app_role()) in ('support', 'admin'));
