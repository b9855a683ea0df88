-- Everything staff do, and every cancellation, lands here in the same transaction as the
-- change itself: who, in which role, what, to which jobs, why, the statuses before and after,
-- and the credits moved (positive: returned to users; negative: charged).
create table public.audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor_id uuid,
  actor_role text not null,
  action text not null,
  job_ids uuid[] not null default '{}',
  target_user_id uuid,
  reason text not null,
  before jsonb,
  after jsonb,
  credits_moved bigint not null default 0,
  detail jsonb not null default '{}'::jsonb
);
create index audit_log_at_idx on public.audit_log (at desc);
create index audit_log_job_ids_idx on public.audit_log using gin (job_ids);

create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function private.forbid_change();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function private.forbid_change();

alter table public.audit_log enable row level security;
revoke all on public.audit_log from anon, authenticated, service_role;
grant select on public.audit_log to authenticated, service_role;
create policy audit_log_read on public.audit_log for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

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
