-- The job timeline: one row per state transition, written by a trigger on jobs in the same
-- statement as the change, so no path (function, bulk action, or a superuser's UPDATE) can
-- change a job's state without leaving its event. Statement-level with transition tables: a
-- claim of 50 jobs writes its 50 events in one INSERT instead of 50 trigger calls.
create table public.job_events (
  id bigint generated always as identity,
  -- No foreign key to jobs: its check and row lock would run for every event on the hot path,
  -- and jobs are never deleted (no function deletes them; the timeline is history).
  job_id uuid not null,
  user_id uuid not null,
  model_id text not null,
  at timestamptz not null default now(),
  from_status text,
  to_status text not null,
  attempt integer not null,
  actor_id uuid,
  -- user | support | admin | service_role | worker | reaper | database (a direct UPDATE)
  actor_role text not null,
  detail jsonb not null default '{}'::jsonb,
  -- Keyed by (job_id, id): the timeline is read by job, and a separate id index would be one more
  -- index insert per event. id alone is unique by construction (identity).
  primary key (job_id, id)
);
-- Rollups scan by time; events arrive in time order, so a BRIN index is tiny and enough.
create index job_events_at_brin on public.job_events using brin (at);

create function private.jobs_events_on_insert() returns trigger
language plpgsql
as $$
begin
  insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role, detail)
  select n.id, n.user_id, n.model_id, null, n.status, n.attempt,
         nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
         coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'),
         jsonb_strip_nulls(jsonb_build_object('reason', nullif(current_setting('jobhealth.reason', true), '')))
  from new_jobs n;
  return null;
end;
$$;

create function private.jobs_events_on_update() returns trigger
language plpgsql
as $$
begin
  insert into public.job_events (job_id, user_id, model_id, from_status, to_status, attempt, actor_id, actor_role, detail)
  select n.id, n.user_id, n.model_id, o.status, n.status, n.attempt,
         nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
         coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'),
         jsonb_strip_nulls(jsonb_build_object(
           'worker_id', case when n.status = 'running' then n.worker_id end,
           'lease_expires_at', case when n.status = 'running' then n.lease_expires_at end,
           'run_at', case when n.status = 'queued' and o.status = 'running' then n.run_at end,
           'error_class', case when n.status = 'failed' or n.status = 'queued' and o.status = 'running' then n.error_class end,
           'error', case when n.status = 'failed' or n.status = 'queued' and o.status = 'running' then left(n.error_message, 500) end,
           'reason', nullif(current_setting('jobhealth.reason', true), '')))
  from new_jobs n join old_jobs o on o.id = n.id
  where n.status is distinct from o.status;
  return null;
end;
$$;

create trigger jobs_events_on_insert after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function private.jobs_events_on_insert();
create trigger jobs_events_on_update after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function private.jobs_events_on_update();

-- The timeline is history: nobody edits it.
create function private.forbid_change() returns trigger
language plpgsql
as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_schema || '.' || tg_table_name, lower(tg_op)
    using errcode = '42501';
end;
$$;
create trigger job_events_append_only before update or delete on public.job_events
  for each row execute function private.forbid_change();
create trigger job_events_no_truncate before truncate on public.job_events
  for each statement execute function private.forbid_change();

alter table public.job_events enable row level security;
revoke all on public.job_events from anon, authenticated, service_role;
grant select on public.job_events to authenticated, service_role;
create policy job_events_read on public.job_events for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );
