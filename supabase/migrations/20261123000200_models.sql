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
