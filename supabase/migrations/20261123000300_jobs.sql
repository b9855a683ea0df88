-- Jobs and their state machine. Only SQL functions change a job's state; the table itself
-- refuses any transition not listed below, even from a superuser's hand-written UPDATE.
create table public.jobs (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  model_id text not null references public.models (id),
  prompt text not null,
  options jsonb not null default '{}'::jsonb,
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority smallint not null default 0,
  -- A queued job is claimable once run_at has passed: delayed retries set it in the future.
  run_at timestamptz not null default now(),
  attempt integer not null default 0 check (attempt >= 0),
  max_attempts integer not null check (max_attempts >= 1),
  credits_cost integer not null check (credits_cost >= 0),
  -- Which charge of this job the credits ledger holds now: 1 at creation, +1 per paid retry.
  -- A refund is unique per (job_id, charge_seq), so each charge is refunded at most once.
  charge_seq integer not null default 1 check (charge_seq >= 1),
  lease_token uuid,
  lease_expires_at timestamptz,
  worker_id text,
  progress smallint not null default 0 check (progress between 0 and 100),
  stage text,
  result jsonb,
  error_class text,
  error_message text,
  -- One entry per failed attempt ({attempt, at, error_class, message}), newest last.
  errors jsonb not null default '[]'::jsonb,
  deadline_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  attempted_at timestamptz,
  finished_at timestamptz,
  -- A running job always holds a lease and nothing else does: the fence every worker call checks.
  constraint jobs_lease_iff_running
    check ((status = 'running') = (lease_token is not null and lease_expires_at is not null))
);

-- The claim is an index scan in (priority desc, run_at, id) order over queued jobs only.
create index jobs_claim_idx on public.jobs (priority desc, run_at, id) where status = 'queued';
-- Queue depth and oldest-queued age per model without touching finished jobs.
create index jobs_queued_model_idx on public.jobs (model_id, created_at) where status = 'queued';
-- The reaper's scan for expired leases, and the running count.
create index jobs_running_lease_idx on public.jobs (lease_expires_at) where status = 'running';
create index jobs_user_created_idx on public.jobs (user_id, created_at desc);

-- The listed transitions, and no others. The allowed pairs live in the triggers' WHEN clauses,
-- evaluated in C for every row: a legal transition never calls the function (a plpgsql call on
-- every claimed and completed job measurably slowed the queue), an illegal one calls it only to
-- raise.
create function private.jobs_refuse_transition() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'INSERT' then
    raise exception 'illegal job transition: a job is created queued, not %', new.status using errcode = '23514';
  end if;
  raise exception 'illegal job transition: % -> %', old.status, new.status using errcode = '23514';
end;
$$;
create trigger jobs_check_insert before insert on public.jobs
  for each row when (new.status <> 'queued')
  execute function private.jobs_refuse_transition();
create trigger jobs_check_transition before update of status on public.jobs
  for each row when (old.status is distinct from new.status and (old.status, new.status) not in (
    ('queued', 'running'),      -- claim
    ('running', 'succeeded'),   -- complete
    ('running', 'queued'),      -- retryable failure, reaper requeue, admin requeue
    ('running', 'failed'),      -- final failure, reaper, fail-and-refund
    ('queued', 'failed'),       -- fail-and-refund, deadline
    ('queued', 'cancelled'),    -- cancel (owner or admin)
    ('running', 'cancelled'),   -- cancel (admin)
    ('failed', 'queued'),       -- retry
    ('cancelled', 'queued')     -- retry
  ))
  execute function private.jobs_refuse_transition();

alter table public.jobs enable row level security;
revoke all on public.jobs from anon, authenticated, service_role;
grant select on public.jobs to authenticated, service_role;

create policy jobs_read on public.jobs for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );
