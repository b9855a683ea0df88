-- Every table of the pipeline but the metrics rollups (20261123000900_metrics.sql), with the
-- rules the database holds by itself, whatever code writes: constraints, the row rules of jobs,
-- append-only history, and balance = sum(ledger). The operations that write these tables are
-- the SQL functions of the later migrations; the legal job transitions have their own
-- (20261123000300_job_state_machine.sql).
--
-- RLS is on for every table. API roles may only read, and only what the policies below allow:
-- end users their own rows, support and admin everything; every write goes through a
-- security-definer function that checks the caller's role itself.

-- The model registry: a job may only name a model listed and enabled here, which is what stops
-- a misspelt model name from timing out every call for 120 s. verification_state records
-- whether the worker has checked the id against the provider.
create table public.models (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  display_name text not null,
  enabled boolean not null default true,
  -- Paused models keep accepting jobs (they wait queued); disabled models accept none.
  paused boolean not null default false,
  credits_per_job integer not null check (credits_per_job between 1 and 1000),
  price_usd_per_call numeric(12, 6) not null default 0 check (price_usd_per_call >= 0),
  -- Calls per minute shared by every worker (acquire_model_budget).
  rate_per_minute integer not null default 60 check (rate_per_minute between 1 and 100000),
  max_attempts integer not null default 3 check (max_attempts between 1 and 10),
  -- A job not finished this long after it was created (or retried) fails and is refunded.
  deadline_seconds integer not null default 1800 check (deadline_seconds between 60 and 86400),
  verification_state text not null default 'unverified'
    check (verification_state in ('unverified', 'verified', 'failed')),
  verification_detail text,
  verified_at timestamptz,
  disabled_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Per-model provider health: the circuit breaker and the shared rate budget. One row per
-- model, created with it.
create table public.model_health (
  model_id text primary key references public.models (id) on delete cascade,
  circuit_state text not null default 'closed' check (circuit_state in ('closed', 'open', 'half_open')),
  consecutive_failures integer not null default 0,
  last_failure_at timestamptz,
  last_success_at timestamptz,
  opened_at timestamptz,
  half_open_at timestamptz,
  -- Set from a 429's Retry-After: no worker calls the model, and no job is claimed, before it.
  retry_after_until timestamptz,
  budget_tokens double precision not null default 0,
  budget_refilled_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create function private.models_create_health() returns trigger
language plpgsql
as $$
begin
  insert into public.model_health (model_id, budget_tokens) values (new.id, new.rate_per_minute);
  return null;
end;
$$;
create trigger models_create_health after insert on public.models
  for each row execute function private.models_create_health();

alter table public.models enable row level security;
alter table public.model_health enable row level security;
revoke all on public.models, public.model_health from anon, authenticated, service_role;
grant select on public.models, public.model_health to authenticated, service_role;

-- Every signed-in user may see the registry (the create form lists it); health is staff-only.
create policy models_read on public.models for select to authenticated
  using ((select public.app_role()) in ('user', 'support', 'admin'));
create policy model_health_read on public.model_health for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- Jobs. Only SQL functions change a job's state (20261123000300_job_state_machine.sql).
create table public.jobs (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  model_id text not null references public.models (id),
  prompt text not null,
  options jsonb not null default '{}'::jsonb,
  status text not null default 'queued',
  priority smallint not null default 0,
  -- A queued job is claimable once run_at has passed: delayed retries set it in the future.
  run_at timestamptz not null default now(),
  attempt integer not null default 0,
  max_attempts integer not null,
  credits_cost integer not null,
  -- Which charge of this job the credits ledger holds now: 1 at creation, +1 per paid retry.
  -- A refund is unique per (job_id, charge_seq), so each charge is refunded at most once.
  charge_seq integer not null default 1,
  lease_token uuid,
  lease_expires_at timestamptz,
  worker_id text,
  progress smallint not null default 0,
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
  finished_at timestamptz
);

-- The claim is an index scan in (priority desc, run_at, id) order over queued jobs only.
create index jobs_claim_idx on public.jobs (priority desc, run_at, id) where status = 'queued';
-- Queue depth and oldest-queued age per model without touching finished jobs.
create index jobs_queued_model_idx on public.jobs (model_id, created_at) where status = 'queued';
-- The reaper's scan for expired leases, and the running count.
create index jobs_running_lease_idx on public.jobs (lease_expires_at) where status = 'running';
create index jobs_user_created_idx on public.jobs (user_id, created_at desc);
-- The admin job explorer lists jobs newest first, a page at a time: with this index the
-- unfiltered first page is an index-only scan that stops after one page instead of a sort of the
-- whole table (the only other created_at index leads with user_id), and status, model and
-- error-class filters run along the same scan. A (status, created_at) index was measured and left
-- out: every job transition is a non-HOT update that inserts into every index on jobs, and each
-- extra index cost the claim/complete loop a share of its throughput (docs/benchmarks.md).
create index jobs_created_idx on public.jobs (created_at desc, id desc);

-- The rules every jobs row obeys, as one constraint that hands the whole row to this function.
-- A running job always holds a lease and nothing else does: the fence every worker call checks.
-- Postgres reads each CHECK expression back from its stored form on every UPDATE statement, at
-- a cost that grows with its length; one whole-row call is a fraction of seven inline checks
-- (docs/benchmarks.md, Schema costs). A violation is SQLSTATE 23514 naming jobs_row_valid,
-- with the broken rule in the detail.
create function private.jobs_row_valid(j public.jobs) returns boolean
language plpgsql immutable
as $$
declare
  v_rule text;
begin
  -- Each rule once: the first broken one names itself, a valid row breaks none.
  v_rule := case
    when not j.status = any ('{queued,running,succeeded,failed,cancelled}'::text[])
      then format('status must be queued, running, succeeded, failed or cancelled, not %s', j.status)
    when (j.status = 'running') <> (j.lease_token is not null and j.lease_expires_at is not null)
      then case when j.status = 'running'
             then 'a running job must hold a lease (lease_token and lease_expires_at)'
             else format('only a running job holds a lease, and this one is %s', j.status) end
    when not j.progress between 0 and 100 then format('progress must be between 0 and 100, not %s', j.progress)
    when j.attempt < 0 then format('attempt must be 0 or more, not %s', j.attempt)
    when j.max_attempts < 1 then format('max_attempts must be 1 or more, not %s', j.max_attempts)
    when j.credits_cost < 0 then format('credits_cost must be 0 or more, not %s', j.credits_cost)
    when j.charge_seq < 1 then format('charge_seq must be 1 or more, not %s', j.charge_seq)
  end;
  if v_rule is null then
    return true;
  end if;
  raise exception 'new row for relation "jobs" violates check constraint "jobs_row_valid"'
    using errcode = '23514', detail = v_rule, schema = 'public', table = 'jobs', constraint = 'jobs_row_valid';
end;
$$;
comment on function private.jobs_row_valid(public.jobs) is
  'The rules every jobs row obeys (constraint jobs_row_valid); raises 23514 naming the broken rule.';
alter table public.jobs add constraint jobs_row_valid check (private.jobs_row_valid(jobs));

alter table public.jobs enable row level security;
revoke all on public.jobs from anon, authenticated, service_role;
grant select on public.jobs to authenticated, service_role;

create policy jobs_read on public.jobs for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );

-- History is never edited: the timeline, the credits ledger and the audit log refuse UPDATE,
-- DELETE and TRUNCATE, even from a superuser's hand.
create function private.forbid_change() returns trigger
language plpgsql
as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_schema || '.' || tg_table_name, lower(tg_op)
    using errcode = '42501';
end;
$$;

-- The job timeline: one row per state transition, written in the same statement as the change
-- by the jobs triggers (20261123000300_job_state_machine.sql), so no path can change a job's
-- state without leaving its event.
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

-- Credits: an append-only ledger and a balance per user that only the ledger moves. Because a
-- balance changes only in the trigger on ledger insert, balance = sum(ledger) holds by
-- construction; the check constraint makes "never negative" the database's job, not the caller's.
-- Charges and refunds: 20261123000400_credits_and_refunds.sql.
create table public.credit_accounts (
  user_id uuid primary key references auth.users (id),
  balance bigint not null default 0 constraint balance_never_negative check (balance >= 0),
  updated_at timestamptz not null default now()
);

create table public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id),
  delta bigint not null check (delta <> 0),
  reason text not null check (reason in ('grant', 'job_charge', 'job_refund', 'adjustment')),
  job_id uuid references public.jobs (id),
  charge_seq integer,
  actor_id uuid,
  actor_role text not null,
  note text,
  created_at timestamptz not null default now(),
  constraint ledger_charge_shape check (reason <> 'job_charge' or (delta < 0 and job_id is not null and charge_seq is not null)),
  constraint ledger_refund_shape check (reason <> 'job_refund' or (delta > 0 and job_id is not null and charge_seq is not null)),
  constraint ledger_grant_positive check (reason <> 'grant' or delta > 0)
);
-- The refund-at-most-once invariant: one refund per charge of a job, whatever raced to issue it.
create unique index credit_ledger_one_refund_per_charge on public.credit_ledger (job_id, charge_seq)
  where reason = 'job_refund';
create unique index credit_ledger_one_charge_per_seq on public.credit_ledger (job_id, charge_seq)
  where reason = 'job_charge';
create index credit_ledger_user_idx on public.credit_ledger (user_id, id desc);

-- A refund returns exactly what its charge took, never more.
create function private.ledger_check_refund() returns trigger
language plpgsql
as $$
begin
  if new.reason = 'job_refund' and not exists (
    select 1 from public.credit_ledger c
    where c.reason = 'job_charge' and c.job_id = new.job_id and c.charge_seq = new.charge_seq
      and c.delta = -new.delta and c.user_id = new.user_id
  ) then
    raise exception 'a refund must match a charge of the same job (job %, charge %)', new.job_id, new.charge_seq
      using errcode = '23514';
  end if;
  return new;
end;
$$;
create trigger credit_ledger_check_refund before insert on public.credit_ledger
  for each row when (new.reason = 'job_refund') execute function private.ledger_check_refund();

create function private.ledger_apply() returns trigger
language plpgsql
as $$
begin
  -- Update first: INSERT ... ON CONFLICT would check balance >= 0 against the proposed new row
  -- (the bare delta) before finding the existing account, refusing every charge.
  update public.credit_accounts set balance = balance + new.delta, updated_at = now() where user_id = new.user_id;
  if not found then
    insert into public.credit_accounts as a (user_id, balance) values (new.user_id, new.delta)
    on conflict (user_id) do update set balance = a.balance + excluded.balance, updated_at = now();
  end if;
  return null;
end;
$$;
create trigger credit_ledger_apply after insert on public.credit_ledger
  for each row execute function private.ledger_apply();

create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function private.forbid_change();
create trigger credit_ledger_no_truncate before truncate on public.credit_ledger
  for each statement execute function private.forbid_change();

-- Balances move only inside the ledger trigger (trigger depth 2); a direct write, even by a
-- superuser, would break balance = sum(ledger), so it is refused.
create function private.accounts_guard() returns trigger
language plpgsql
as $$
begin
  if pg_trigger_depth() < 2 then
    raise exception 'credit balances change only through credit_ledger' using errcode = '42501';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
create trigger credit_accounts_guard before insert or update or delete on public.credit_accounts
  for each row execute function private.accounts_guard();
create trigger credit_accounts_no_truncate before truncate on public.credit_accounts
  for each statement execute function private.forbid_change();

alter table public.credit_accounts enable row level security;
alter table public.credit_ledger enable row level security;
revoke all on public.credit_accounts, public.credit_ledger from anon, authenticated, service_role;
grant select on public.credit_accounts, public.credit_ledger to authenticated, service_role;
create policy credit_accounts_read on public.credit_accounts for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );
create policy credit_ledger_read on public.credit_ledger for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );

-- Everything staff do, and every cancellation, lands here in the same transaction as the
-- change itself: who, in which role, what, to which jobs, why, the statuses before and after,
-- and the credits moved (positive: returned to users; negative: charged). Written only through
-- private.write_audit (20261123000700_staff_actions_and_audit.sql).
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

-- One row per Gemini call, written by the worker through record_provider_call: what the System
-- Health latency charts and the cost report are computed from.
create table public.provider_calls (
  id bigint generated always as identity primary key,
  job_id uuid references public.jobs (id),
  user_id uuid,
  attempt integer,
  model_id text not null references public.models (id),
  worker_id text,
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  http_status integer check (http_status between 100 and 599),
  -- ok | rate_limited | server_error | timeout | client_error | not_found | safety_blocked | network_error
  outcome text not null check (outcome in (
    'ok', 'rate_limited', 'server_error', 'timeout', 'client_error', 'not_found', 'safety_blocked', 'network_error')),
  retry_after_ms integer check (retry_after_ms >= 0),
  input_tokens integer check (input_tokens >= 0),
  output_tokens integer check (output_tokens >= 0),
  cost_usd numeric(12, 6) not null default 0,
  -- When the row was recorded (the call's end): rollups bucket by this, in arrival order.
  recorded_at timestamptz not null default now()
);
create index provider_calls_job_idx on public.provider_calls (job_id, attempt);
create index provider_calls_recorded_brin on public.provider_calls using brin (recorded_at);

alter table public.provider_calls enable row level security;
revoke all on public.provider_calls from anon, authenticated, service_role;
grant select on public.provider_calls to authenticated, service_role;
create policy provider_calls_read on public.provider_calls for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );

revoke all on all functions in schema private from public;
