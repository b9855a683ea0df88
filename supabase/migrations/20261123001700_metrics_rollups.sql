-- Metrics for System Health, kept cheap at any table size. Workers' commits never touch a
-- shared counter row (that would serialise every completion on one row lock); instead
-- rollup_metrics(), run each minute, aggregates finished minutes of job_events, refunds and
-- provider_calls into per-minute, per-model rows. job_health reads those plus the small tail
-- not yet rolled up.
--
-- Provider latency is kept as a fixed log-scale histogram of 40 bins, so percentiles over any
-- window are a sum of histograms: bin 1 is <= 25 ms, bin i covers (25*1.25^(i-2), 25*1.25^(i-1)]
-- ms, bin 40 is everything over about 120 s (the pathological calls worth seeing). Factor 1.25
-- keeps a percentile read from merged histograms within about 12% (interpolated in the bin);
-- each minute's row also stores its exact p50/p95/p99.
create table public.metrics_job_minute (
  minute timestamptz not null,
  model_id text not null,
  created integer not null default 0,
  claimed integer not null default 0,
  succeeded integer not null default 0,
  failed integer not null default 0,
  requeued integer not null default 0,   -- running -> queued (retry scheduled, reaper, admin)
  retried integer not null default 0,    -- failed|cancelled -> queued (retry_jobs)
  cancelled integer not null default 0,
  refunds integer not null default 0,
  refunded_credits bigint not null default 0,
  -- Queue depth and running count at the end of the minute, derived from the events (every job
  -- enters the timeline queued), so history is exact and needs no sampler.
  queued_depth integer not null default 0,
  running_depth integer not null default 0,
  primary key (minute, model_id)
);

create table public.metrics_provider_minute (
  minute timestamptz not null,
  model_id text not null,
  calls integer not null default 0,
  ok integer not null default 0,
  rate_limited integer not null default 0,
  server_error integer not null default 0,
  timeout integer not null default 0,
  other_error integer not null default 0,
  latency_hist integer[] not null,
  latency_sum_ms bigint not null default 0,
  max_ms integer,
  p50_ms double precision,
  p95_ms double precision,
  p99_ms double precision,
  cost_usd numeric(14, 6) not null default 0,
  tokens bigint not null default 0,
  primary key (minute, model_id)
);

-- The watermark: minutes before rolled_until are in the rollup tables.
create table public.metrics_rollup_state (
  id boolean primary key default true check (id),
  rolled_until timestamptz
);
insert into public.metrics_rollup_state (id, rolled_until) values (true, null);

create index credit_ledger_created_brin on public.credit_ledger using brin (created_at);

create function private.latency_bin(p_ms integer) returns integer
language sql immutable parallel safe
as $$
  select least(40, greatest(1, ceil(ln(greatest(p_ms, 1) / 25.0::double precision) / ln(1.25::double precision))::integer + 1))
$$;

-- The q-quantile of a histogram, interpolated linearly inside the bin where it falls.
create function private.histogram_percentile(p_hist bigint[], p_q double precision) returns double precision
language sql immutable parallel safe
as $$
  with b as (
    select i, c, sum(c) over (order by i) as cum, sum(c) over () as total
      from unnest(p_hist) with ordinality as t(c, i)
  )
  select round((lo + (hi - lo) * (p_q * total - (cum - c)) / c)::numeric, 1)::double precision
    from (select *, case when i = 1 then 0 else 25 * power(1.25, i - 2) end as lo,
                    25 * power(1.25, i - 1) as hi from b) x
   where c > 0 and cum >= p_q * total
   order by i
   limit 1
$$;

create function private.job_minutes(p_from timestamptz, p_to timestamptz)
returns table (minute timestamptz, model_id text, created integer, claimed integer, succeeded integer,
               failed integer, requeued integer, retried integer, cancelled integer, refunds integer,
               refunded_credits bigint, queued_delta integer, running_delta integer)
language sql stable
as $$
  with e as (
    select date_bin('1 minute', ev.at, timestamptz 'epoch') as minute, ev.model_id,
           count(*) filter (where ev.from_status is null)::integer as created,
           count(*) filter (where ev.to_status = 'running')::integer as claimed,
           count(*) filter (where ev.to_status = 'succeeded')::integer as succeeded,
           count(*) filter (where ev.to_status = 'failed')::integer as failed,
           count(*) filter (where ev.from_status = 'running' and ev.to_status = 'queued')::integer as requeued,
           count(*) filter (where ev.from_status in ('failed', 'cancelled'))::integer as retried,
           count(*) filter (where ev.to_status = 'cancelled')::integer as cancelled,
           (count(*) filter (where ev.to_status = 'queued') - count(*) filter (where ev.from_status = 'queued'))::integer as queued_delta,
           (count(*) filter (where ev.to_status = 'running') - count(*) filter (where ev.from_status = 'running'))::integer as running_delta
      from public.job_events ev
     where ev.at >= p_from and ev.at < p_to
     group by 1, 2
  ), r as (
    select date_bin('1 minute', l.created_at, timestamptz 'epoch') as minute, j.model_id,
           count(*)::integer as refunds, sum(l.delta)::bigint as refunded_credits
      from public.credit_ledger l join public.jobs j on j.id = l.job_id
     where l.reason = 'job_refund' and l.created_at >= p_from and l.created_at < p_to
     group by 1, 2
  )
  select coalesce(e.minute, r.minute), coalesce(e.model_id, r.model_id),
         coalesce(e.created, 0), coalesce(e.claimed, 0), coalesce(e.succeeded, 0), coalesce(e.failed, 0),
         coalesce(e.requeued, 0), coalesce(e.retried, 0), coalesce(e.cancelled, 0),
         coalesce(r.refunds, 0), coalesce(r.refunded_credits, 0),
         coalesce(e.queued_delta, 0), coalesce(e.running_delta, 0)
    from e full join r on r.minute = e.minute and r.model_id = e.model_id
$$;

create function private.provider_minutes(p_from timestamptz, p_to timestamptz)
returns table (minute timestamptz, model_id text, calls integer, ok integer, rate_limited integer,
               server_error integer, timeout integer, other_error integer, latency_hist integer[],
               latency_sum_ms bigint, max_ms integer, p50_ms double precision, p95_ms double precision,
               p99_ms double precision, cost_usd numeric, tokens bigint)
language sql stable
as $$
  with c as (
    select date_bin('1 minute', pc.recorded_at, timestamptz 'epoch') as minute, pc.model_id,
           private.latency_bin(pc.duration_ms) as bin, pc.duration_ms, pc.outcome, pc.cost_usd,
           coalesce(pc.input_tokens, 0) + coalesce(pc.output_tokens, 0) as tokens
      from public.provider_calls pc
     where pc.recorded_at >= p_from and pc.recorded_at < p_to
  ), bins as (
    select c.minute, c.model_id, c.bin, count(*)::integer as n from c group by 1, 2, 3
  ), hist as (
    select k.minute, k.model_id, array_agg(coalesce(b.n, 0) order by g.bin) as latency_hist
      from (select distinct bins.minute, bins.model_id from bins) k
      cross join generate_series(1, 40) g(bin)
      left join bins b on b.minute = k.minute and b.model_id = k.model_id and b.bin = g.bin
     group by 1, 2
  )
  select c.minute, c.model_id, count(*)::integer,
         count(*) filter (where c.outcome = 'ok')::integer,
         count(*) filter (where c.outcome = 'rate_limited')::integer,
         count(*) filter (where c.outcome = 'server_error')::integer,
         count(*) filter (where c.outcome = 'timeout')::integer,
         count(*) filter (where c.outcome not in ('ok', 'rate_limited', 'server_error', 'timeout'))::integer,
         h.latency_hist, sum(c.duration_ms)::bigint, max(c.duration_ms),
         percentile_cont(0.5) within group (order by c.duration_ms),
         percentile_cont(0.95) within group (order by c.duration_ms),
         percentile_cont(0.99) within group (order by c.duration_ms),
         sum(c.cost_usd), sum(c.tokens)::bigint
    from c join hist h on h.minute = c.minute and h.model_id = c.model_id
   group by c.minute, c.model_id, h.latency_hist
$$;

-- rollup_metrics() returns jsonb   (service_role; pg_cron or the local scheduler, every minute)
-- Rolls up every whole minute that ended at least 30 s ago and is not yet rolled up, then
-- advances the watermark. The 30 s grace lets transactions that began inside a minute commit
-- before that minute is closed. Idempotent: rows are upserted and concurrent runs serialise on
-- the watermark row, so running it twice, or from two schedulers, changes nothing.
-- Returns {"from", "to", "minutes"}.
create function public.rollup_metrics() returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_from timestamptz;
  v_to timestamptz := date_bin('1 minute', now() - interval '30 seconds', timestamptz 'epoch');
begin
  perform private.require_role(array['service_role'], 'rollup_metrics');
  select rolled_until into v_from from public.metrics_rollup_state where id for update;
  if v_from is null then
    select date_bin('1 minute', least(
             (select min(at) from public.job_events),
             (select min(recorded_at) from public.provider_calls)), timestamptz 'epoch')
      into v_from;
    v_from := coalesce(v_from, v_to);
  end if;
  if v_from >= v_to then
    update public.metrics_rollup_state set rolled_until = v_from where id;
    return jsonb_build_object('from', v_from, 'to', v_from, 'minutes', 0);
  end if;

  insert into public.metrics_job_minute as t (minute, model_id, created, claimed, succeeded, failed, requeued,
    retried, cancelled, refunds, refunded_credits, queued_depth, running_depth)
  select g.minute, m.id, coalesce(a.created, 0), coalesce(a.claimed, 0), coalesce(a.succeeded, 0),
         coalesce(a.failed, 0), coalesce(a.requeued, 0), coalesce(a.retried, 0), coalesce(a.cancelled, 0),
         coalesce(a.refunds, 0), coalesce(a.refunded_credits, 0),
         coalesce(p.queued_depth, 0) + sum(coalesce(a.queued_delta, 0)) over w,
         coalesce(p.running_depth, 0) + sum(coalesce(a.running_delta, 0)) over w
    from generate_series(v_from, v_to - interval '1 minute', interval '1 minute') g(minute)
    cross join public.models m
    left join private.job_minutes(v_from, v_to) a on a.minute = g.minute and a.model_id = m.id
    left join lateral (
      select x.queued_depth, x.running_depth from public.metrics_job_minute x
       where x.model_id = m.id and x.minute < v_from order by x.minute desc limit 1) p on true
  window w as (partition by m.id order by g.minute)
  on conflict (minute, model_id) do update set
    created = excluded.created, claimed = excluded.claimed, succeeded = excluded.succeeded,
    failed = excluded.failed, requeued = excluded.requeued, retried = excluded.retried,
    cancelled = excluded.cancelled, refunds = excluded.refunds, refunded_credits = excluded.refunded_credits,
    queued_depth = excluded.queued_depth, running_depth = excluded.running_depth;

  insert into public.metrics_provider_minute as t (minute, model_id, calls, ok, rate_limited, server_error,
    timeout, other_error, latency_hist, latency_sum_ms, max_ms, p50_ms, p95_ms, p99_ms, cost_usd, tokens)
  select * from private.provider_minutes(v_from, v_to)
  on conflict (minute, model_id) do update set
    calls = excluded.calls, ok = excluded.ok, rate_limited = excluded.rate_limited,
    server_error = excluded.server_error, timeout = excluded.timeout, other_error = excluded.other_error,
    latency_hist = excluded.latency_hist, latency_sum_ms = excluded.latency_sum_ms, max_ms = excluded.max_ms,
    p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms,
    cost_usd = excluded.cost_usd, tokens = excluded.tokens;

  update public.metrics_rollup_state set rolled_until = v_to where id;
  return jsonb_build_object('from', v_from, 'to', v_to,
                            'minutes', (extract(epoch from v_to - v_from) / 60)::integer);
end;
$$;
revoke all on function public.rollup_metrics() from public, anon, authenticated;
grant execute on function public.rollup_metrics() to service_role;

alter table public.metrics_job_minute enable row level security;
alter table public.metrics_provider_minute enable row level security;
alter table public.metrics_rollup_state enable row level security;
revoke all on public.metrics_job_minute, public.metrics_provider_minute, public.metrics_rollup_state
  from anon, authenticated, service_role;
grant select on public.metrics_job_minute, public.metrics_provider_minute, public.metrics_rollup_state
  to authenticated, service_role;
create policy metrics_job_minute_read on public.metrics_job_minute for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy metrics_provider_minute_read on public.metrics_provider_minute for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy metrics_rollup_state_read on public.metrics_rollup_state for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
revoke all on all functions in schema private from public;
