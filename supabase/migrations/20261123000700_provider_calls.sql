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
