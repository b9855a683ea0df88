-- Metrics for System Health, kept cheap at any table size, and job_health, the document the
-- console draws. Workers' commits never touch a shared counter row (that would serialise every
-- completion on one row lock); instead rollup_metrics(), run each minute, aggregates finished
-- minutes of job_events, refunds and provider_calls into per-minute, per-model rows, and the
-- provider rows are summed again per hour. job_health reads those plus the small tail not yet
-- rolled up, so its cost depends on the window's minutes, not on how many jobs exist.
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

-- The same provider sums per model and hour, so wide windows do not re-merge every minute.
-- A trigger on the watermark (below) recomputes every hour an advance touched from the minute
-- rows; an hour row is only read once its whole hour lies before the watermark, so it is
-- complete.
create table public.metrics_provider_hour (
  hour timestamptz not null,
  model_id text not null,
  calls bigint not null default 0,
  ok bigint not null default 0,
  rate_limited bigint not null default 0,
  server_error bigint not null default 0,
  timeout bigint not null default 0,
  other_error bigint not null default 0,
  latency_hist bigint[] not null,
  cost_usd numeric(16, 6) not null default 0,
  primary key (hour, model_id)
);

-- The watermark: minutes before rolled_until are in the rollup tables.
create table public.metrics_rollup_state (
  id boolean primary key default true check (id),
  rolled_until timestamptz
);
insert into public.metrics_rollup_state (id, rolled_until) values (true, null);

-- A minute's refunds are found by time.
create index credit_ledger_created_brin on public.credit_ledger using brin (created_at);

alter table public.metrics_job_minute enable row level security;
alter table public.metrics_provider_minute enable row level security;
alter table public.metrics_rollup_state enable row level security;
alter table public.metrics_provider_hour enable row level security;
revoke all on public.metrics_job_minute, public.metrics_provider_minute, public.metrics_rollup_state
  from anon, authenticated, service_role;
revoke all on public.metrics_provider_hour from anon, authenticated, service_role;
grant select on public.metrics_job_minute, public.metrics_provider_minute, public.metrics_rollup_state
  to authenticated, service_role;
grant select on public.metrics_provider_hour to authenticated, service_role;
create policy metrics_job_minute_read on public.metrics_job_minute for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy metrics_provider_minute_read on public.metrics_provider_minute for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy metrics_rollup_state_read on public.metrics_rollup_state for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy metrics_provider_hour_read on public.metrics_provider_hour for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

create function private.latency_bin(p_ms integer) returns integer
language sql immutable parallel safe
as $$
  select least(40, greatest(1, ceil(ln(greatest(p_ms, 1) / 25.0::double precision) / ln(1.25::double precision))::integer + 1))
$$;

-- The q-quantile of a 40-bin histogram, interpolated linearly inside the bin where it falls. A
-- loop rather than a set-based query (unnest, two window sums, a sort): job_health calls it
-- three times per bucket and model whenever buckets are wider than a minute, and the loop is a
-- fraction of the cost per call (docs/benchmarks.md, Schema costs). Counts are bigint: a
-- histogram's total fits, and the comparison with p_q * total is done in double precision.
-- Not `set search_path`: a function-level setting is saved and restored on every call, and
-- this one touches no table, only built-in functions.
create function private.histogram_percentile(p_hist bigint[], p_q double precision) returns double precision
language plpgsql
immutable
parallel safe
as $$
declare
  v_total bigint := 0;
  v_cum bigint := 0;
  v_count bigint;
  v_bin integer := 0;
  v_lo numeric;
  v_hi numeric;
begin
  if p_hist is null then
    return null;
  end if;
  foreach v_count in array p_hist loop
    v_total := v_total + coalesce(v_count, 0);
  end loop;
  -- The first non-empty bin whose cumulative count reaches the quantile; linear inside it.
  -- Bin 1 is [0, 25) ms, bin i > 1 is [25 * 1.25^(i-2), 25 * 1.25^(i-1)) ms (private.latency_bin).
  foreach v_count in array p_hist loop
    v_bin := v_bin + 1;
    v_cum := v_cum + coalesce(v_count, 0);
    if v_count > 0 and v_cum >= p_q * v_total then
      v_lo := case when v_bin = 1 then 0 else 25 * power(1.25, v_bin - 2) end;
      v_hi := 25 * power(1.25, v_bin - 1);
      return round((v_lo + (v_hi - v_lo) * (p_q * v_total - (v_cum - v_count)) / v_count)::numeric, 1)::double precision;
    end if;
  end loop;
  return null;
end;
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

-- rollup_metrics() returns jsonb   (service_role; every minute: 20261123001200_schedules_and_wakeup.sql)
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

-- Recomputes the hours overlapping [p_from, p_to) from the minute rollups. Idempotent.
create function private.rollup_provider_hours(p_from timestamptz, p_to timestamptz) returns void
language sql
security definer
set search_path = ''
as $$
  insert into public.metrics_provider_hour as t (hour, model_id, calls, ok, rate_limited, server_error,
    timeout, other_error, latency_hist, cost_usd)
  select date_bin('1 hour', m.minute, timestamptz 'epoch'), m.model_id, sum(m.calls), sum(m.ok),
         sum(m.rate_limited), sum(m.server_error), sum(m.timeout), sum(m.other_error),
         array[sum(m.latency_hist[1]), sum(m.latency_hist[2]), sum(m.latency_hist[3]), sum(m.latency_hist[4]), sum(m.latency_hist[5]), sum(m.latency_hist[6]), sum(m.latency_hist[7]), sum(m.latency_hist[8]),
          sum(m.latency_hist[9]), sum(m.latency_hist[10]), sum(m.latency_hist[11]), sum(m.latency_hist[12]), sum(m.latency_hist[13]), sum(m.latency_hist[14]), sum(m.latency_hist[15]), sum(m.latency_hist[16]),
          sum(m.latency_hist[17]), sum(m.latency_hist[18]), sum(m.latency_hist[19]), sum(m.latency_hist[20]), sum(m.latency_hist[21]), sum(m.latency_hist[22]), sum(m.latency_hist[23]), sum(m.latency_hist[24]),
          sum(m.latency_hist[25]), sum(m.latency_hist[26]), sum(m.latency_hist[27]), sum(m.latency_hist[28]), sum(m.latency_hist[29]), sum(m.latency_hist[30]), sum(m.latency_hist[31]), sum(m.latency_hist[32]),
          sum(m.latency_hist[33]), sum(m.latency_hist[34]), sum(m.latency_hist[35]), sum(m.latency_hist[36]), sum(m.latency_hist[37]), sum(m.latency_hist[38]), sum(m.latency_hist[39]), sum(m.latency_hist[40])]::bigint[],
         sum(m.cost_usd)
    from public.metrics_provider_minute m
   where m.minute >= date_bin('1 hour', p_from, timestamptz 'epoch') and m.minute < p_to
   group by 1, 2
  on conflict (hour, model_id) do update set
    calls = excluded.calls, ok = excluded.ok, rate_limited = excluded.rate_limited,
    server_error = excluded.server_error, timeout = excluded.timeout, other_error = excluded.other_error,
    latency_hist = excluded.latency_hist, cost_usd = excluded.cost_usd
$$;

-- rollup_metrics advances the watermark last, in the same transaction as the minute rows; the
-- hours that advance touched are recomputed right there.
create function private.metrics_watermark_advanced() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.rolled_until is null or (old.rolled_until is not null and new.rolled_until <= old.rolled_until) then
    return null;
  end if;
  perform private.rollup_provider_hours(
    coalesce(old.rolled_until, (select min(m.minute) from public.metrics_provider_minute m), new.rolled_until),
    new.rolled_until);
  return null;
end;
$$;

create trigger metrics_rollup_state_hours after update of rolled_until on public.metrics_rollup_state
  for each row execute function private.metrics_watermark_advanced();

revoke all on all functions in schema private from public;

-- job_health(p_window interval default '1 hour', p_bucket interval default '1 minute')
--   returns json   (support, admin, service_role)
-- The System Health document. Historical numbers come from the rollups (whole rolled-up hours
-- of provider calls from metrics_provider_hour, the minutes around them from the minute rows),
-- the minutes not rolled up yet from the raw tables (a minute or two, found through BRIN
-- indexes), and the current state from partial indexes on queued and running jobs. The window
-- is 1 minute to 7 days; the bucket a whole number of minutes; at most 2016 buckets.
-- Shape (series are columnar: one array per measure, aligned with series.bucket, every bucket
-- present, because an array of objects per bucket was several times the size and a large share
-- of the function's time):
-- { "generated_at", "rolled_up_to",
--   "window":  {"from", "to", "bucket_seconds"},
--   "current": {"queued", "running", "oldest_queued_seconds", "active_workers"},
--   "totals":  {"created", "claimed", "succeeded", "failed", "requeued", "retried", "cancelled",
--               "refunds", "refunded_credits", "failure_rate"},
--   "series":  {"bucket": [timestamptz], "created": [n], "claimed", "succeeded", "failed",
--               "requeued", "retried", "cancelled", "refunds", "refunded_credits",
--               "failure_rate", "queued", "running"},
--   "models":  [{"model_id", "enabled", "paused", "verification_state", "circuit_state",
--                "consecutive_failures", "opened_at", "retry_after_until", "queued", "running",
--                "calls", "ok", "rate_limited", "server_error", "timeout", "other_error",
--                "cost_usd", "p50_ms", "p95_ms", "p99_ms",
--                "latency": {"calls": [n], "errors": [n], "p50_ms": [ms], "p95_ms", "p99_ms"}}] }
-- Counts in buckets without activity are 0; queued/running are null where no sample exists
-- (only possible in the not-yet-rolled-up tail), latency percentiles null without calls.
-- requeued counts running -> queued (retry scheduled, reaper, admin requeue), retried counts
-- retry_jobs. failure_rate = failed / (succeeded + failed), null when neither happened. Latency
-- series use each minute's exact percentiles when the bucket is one minute, merged histograms
-- otherwise; window totals always use merged histograms (within about 12%).
-- json, not jsonb: the document is only ever sent, and as jsonb each of its numbers (some
-- 20,000 in the largest view) was parsed back into a numeric and printed again. A generic plan
-- (plan_cache_mode): PL/pgSQL kept re-planning its one large statement for every call's values,
-- and the window's bounds only select ranges of rollup rows by primary key, so one plan fits
-- every window. Both measured in docs/benchmarks.md, Schema costs.
-- Errors: 42501 anon and end users; 22023 bad window or bucket.
create function public.job_health(p_window interval default interval '1 hour', p_bucket interval default interval '1 minute')
returns json
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_to timestamptz := now();
  v_from timestamptz;
  v_start timestamptz;
  v_mark timestamptz;
  v_hours_from timestamptz;
  v_hours_to timestamptz;
  v_result json;
begin
  perform private.require_role(array['support', 'admin', 'service_role'], 'job_health');
  if p_window is null or p_window < interval '1 minute' or p_window > interval '7 days' then
    raise exception 'window must be between 1 minute and 7 days' using errcode = '22023';
  end if;
  if p_bucket is null or p_bucket < interval '1 minute' or extract(epoch from p_bucket)::numeric % 60 <> 0
     or extract(month from p_bucket) <> 0 then
    raise exception 'bucket must be a whole number of minutes' using errcode = '22023';
  end if;
  if extract(epoch from p_window) / extract(epoch from p_bucket) > 2016 then
    raise exception 'too many buckets: % over % gives more than 2016', p_window, p_bucket using errcode = '22023';
  end if;
  v_from := v_to - p_window;
  v_start := date_bin(p_bucket, v_from, timestamptz 'epoch');
  select coalesce(rolled_until, '-infinity') into v_mark from public.metrics_rollup_state where id;
  -- The whole hours inside the window that are entirely rolled up: served by metrics_provider_hour.
  v_hours_from := date_bin(interval '1 hour', v_start + interval '1 hour' - interval '1 microsecond', timestamptz 'epoch');
  v_hours_to := case when v_mark = '-infinity' then v_hours_from
                     else greatest(v_hours_from, date_bin(interval '1 hour', v_mark, timestamptz 'epoch')) end;

  with jm as (
    select x.minute, x.model_id, x.created, x.claimed, x.succeeded, x.failed, x.requeued, x.retried,
           x.cancelled, x.refunds, x.refunded_credits, x.queued_depth, x.running_depth
      from public.metrics_job_minute x
     where x.minute >= v_start and x.minute < v_mark
    union all
    select t.minute, t.model_id, t.created, t.claimed, t.succeeded, t.failed, t.requeued, t.retried,
           t.cancelled, t.refunds, t.refunded_credits,
           coalesce((select l.queued_depth from public.metrics_job_minute l
                      where l.model_id = t.model_id and l.minute < v_mark order by l.minute desc limit 1), 0)
             + sum(t.queued_delta) over (partition by t.model_id order by t.minute),
           coalesce((select l.running_depth from public.metrics_job_minute l
                      where l.model_id = t.model_id and l.minute < v_mark order by l.minute desc limit 1), 0)
             + sum(t.running_delta) over (partition by t.model_id order by t.minute)
      from private.job_minutes(greatest(v_mark, v_start), v_to + interval '1 minute') t
  ), jb as (
    select date_bin(p_bucket, jm.minute, timestamptz 'epoch') as bucket, jm.*,
           max(jm.minute) over (partition by date_bin(p_bucket, jm.minute, timestamptz 'epoch')) as last_minute
      from jm
  ), buckets as (
    select b as bucket from generate_series(v_start, date_bin(p_bucket, v_to, timestamptz 'epoch'), p_bucket) b
  ), series as (
    select jb.bucket, sum(jb.created) as created, sum(jb.claimed) as claimed, sum(jb.succeeded) as succeeded,
           sum(jb.failed) as failed, sum(jb.requeued) as requeued, sum(jb.retried) as retried,
           sum(jb.cancelled) as cancelled, sum(jb.refunds) as refunds, sum(jb.refunded_credits) as refunded_credits,
           sum(jb.queued_depth) filter (where jb.minute = jb.last_minute) as queued,
           sum(jb.running_depth) filter (where jb.minute = jb.last_minute) as running
      from jb group by jb.bucket
  ), pm as (
    select x.minute, x.model_id, x.calls, x.ok, x.rate_limited, x.server_error, x.timeout, x.other_error,
           x.latency_hist, x.p50_ms, x.p95_ms, x.p99_ms, x.cost_usd
      from public.metrics_provider_minute x
     where x.minute >= v_start and x.minute < v_mark
    union all
    select t.minute, t.model_id, t.calls, t.ok, t.rate_limited, t.server_error, t.timeout, t.other_error,
           t.latency_hist, t.p50_ms, t.p95_ms, t.p99_ms, t.cost_usd
      from private.provider_minutes(greatest(v_mark, v_start), v_to + interval '1 minute') t
  ), pc as (
    -- The same calls at the coarsest grain that still fits: whole rolled-up hours from
    -- metrics_provider_hour, the minutes around them from pm. Over 24 hours that is about 50
    -- rows per model instead of 1,440; over 7 days about 170 instead of 10,080.
    -- The histogram as integer[], the minute rows' type: a union with bigint[] would cast every
    -- minute row's array and sum the bins as numeric (the 15-minute view took 40% longer).
    -- An hour bin would need 600,000 calls a second in one latency bin of one model to overflow.
    select h.hour as minute, h.model_id, h.calls, h.ok, h.rate_limited, h.server_error, h.timeout,
           h.other_error, h.latency_hist::integer[], h.cost_usd
      from public.metrics_provider_hour h
     where h.hour >= v_hours_from and h.hour < v_hours_to
    union all
    select p.minute, p.model_id, p.calls, p.ok, p.rate_limited, p.server_error, p.timeout,
           p.other_error, p.latency_hist, p.cost_usd
      from pm p
     where p.minute < v_hours_from or p.minute >= v_hours_to
  ), pb as (
    -- One-minute buckets are the rollup rows themselves, with their exact percentiles: no
    -- grouping and no histogram merge (the 40 sums per row were a fifth of the function's time).
    -- The branches' conditions depend only on p_bucket, so only one of them runs.
    select p.minute as bucket, p.model_id, p.calls::bigint as calls, (p.calls - p.ok)::bigint as errors,
           1::bigint as minutes, p.p50_ms, p.p95_ms, p.p99_ms, null::bigint[] as hist
      from pm p where p_bucket = interval '1 minute'
    union all
    select date_bin(p_bucket, p.minute, timestamptz 'epoch'), p.model_id,
           sum(p.calls), sum(p.calls - p.ok), count(*), null, null, null,
           array[sum(p.latency_hist[1]), sum(p.latency_hist[2]), sum(p.latency_hist[3]), sum(p.latency_hist[4]), sum(p.latency_hist[5]), sum(p.latency_hist[6]), sum(p.latency_hist[7]), sum(p.latency_hist[8]), 
            sum(p.latency_hist[9]), sum(p.latency_hist[10]), sum(p.latency_hist[11]), sum(p.latency_hist[12]), sum(p.latency_hist[13]), sum(p.latency_hist[14]), sum(p.latency_hist[15]), sum(p.latency_hist[16]), 
            sum(p.latency_hist[17]), sum(p.latency_hist[18]), sum(p.latency_hist[19]), sum(p.latency_hist[20]), sum(p.latency_hist[21]), sum(p.latency_hist[22]), sum(p.latency_hist[23]), sum(p.latency_hist[24]), 
            sum(p.latency_hist[25]), sum(p.latency_hist[26]), sum(p.latency_hist[27]), sum(p.latency_hist[28]), sum(p.latency_hist[29]), sum(p.latency_hist[30]), sum(p.latency_hist[31]), sum(p.latency_hist[32]), 
            sum(p.latency_hist[33]), sum(p.latency_hist[34]), sum(p.latency_hist[35]), sum(p.latency_hist[36]), sum(p.latency_hist[37]), sum(p.latency_hist[38]), sum(p.latency_hist[39]), sum(p.latency_hist[40])]::bigint[]
      from (select x.minute, x.model_id, x.calls, x.ok, x.latency_hist from pc x
             where extract(epoch from p_bucket)::bigint % 3600 = 0
            union all
            select x.minute, x.model_id, x.calls, x.ok, x.latency_hist from pm x
             where extract(epoch from p_bucket)::bigint % 3600 <> 0) p
     where p_bucket <> interval '1 minute' group by 1, 2
  ), pt as (
    select p.model_id, sum(p.calls) as calls, sum(p.ok) as ok, sum(p.rate_limited) as rate_limited,
           sum(p.server_error) as server_error, sum(p.timeout) as timeout, sum(p.other_error) as other_error,
           sum(p.cost_usd) as cost_usd,
           array[sum(p.latency_hist[1]), sum(p.latency_hist[2]), sum(p.latency_hist[3]), sum(p.latency_hist[4]), sum(p.latency_hist[5]), sum(p.latency_hist[6]), sum(p.latency_hist[7]), sum(p.latency_hist[8]), 
            sum(p.latency_hist[9]), sum(p.latency_hist[10]), sum(p.latency_hist[11]), sum(p.latency_hist[12]), sum(p.latency_hist[13]), sum(p.latency_hist[14]), sum(p.latency_hist[15]), sum(p.latency_hist[16]), 
            sum(p.latency_hist[17]), sum(p.latency_hist[18]), sum(p.latency_hist[19]), sum(p.latency_hist[20]), sum(p.latency_hist[21]), sum(p.latency_hist[22]), sum(p.latency_hist[23]), sum(p.latency_hist[24]), 
            sum(p.latency_hist[25]), sum(p.latency_hist[26]), sum(p.latency_hist[27]), sum(p.latency_hist[28]), sum(p.latency_hist[29]), sum(p.latency_hist[30]), sum(p.latency_hist[31]), sum(p.latency_hist[32]), 
            sum(p.latency_hist[33]), sum(p.latency_hist[34]), sum(p.latency_hist[35]), sum(p.latency_hist[36]), sum(p.latency_hist[37]), sum(p.latency_hist[38]), sum(p.latency_hist[39]), sum(p.latency_hist[40])]::bigint[] as hist
      from pc p group by p.model_id
  ), live as (
    select q.model_id, count(*) as queued, min(q.created_at) as oldest
      from public.jobs q where q.status = 'queued' group by q.model_id
  ), running as (
    select r.model_id, count(*) as running, array_agg(distinct r.worker_id) as workers
      from public.jobs r where r.status = 'running' group by r.model_id
  )
  select json_build_object(
    'generated_at', v_to,
    'rolled_up_to', case when v_mark = '-infinity' then null else v_mark end,
    'window', json_build_object('from', v_from, 'to', v_to, 'bucket_seconds', extract(epoch from p_bucket)::integer),
    'current', json_build_object(
      'queued', coalesce((select sum(live.queued) from live), 0),
      'running', coalesce((select sum(running.running) from running), 0),
      'oldest_queued_seconds', (select round(extract(epoch from v_to - min(live.oldest))::numeric, 1) from live),
      'active_workers', (select count(distinct w) from running, unnest(running.workers) w)),
    'totals', (select json_build_object(
        'created', coalesce(sum(s.created), 0), 'claimed', coalesce(sum(s.claimed), 0),
        'succeeded', coalesce(sum(s.succeeded), 0), 'failed', coalesce(sum(s.failed), 0),
        'requeued', coalesce(sum(s.requeued), 0), 'retried', coalesce(sum(s.retried), 0),
        'cancelled', coalesce(sum(s.cancelled), 0), 'refunds', coalesce(sum(s.refunds), 0),
        'refunded_credits', coalesce(sum(s.refunded_credits), 0),
        'failure_rate', round(sum(s.failed) / nullif(sum(s.succeeded) + sum(s.failed), 0), 4))
      from series s),
    'series', (select json_build_object(
        'bucket', array_agg(k.bucket order by k.bucket),
        'created', array_agg(coalesce(s.created, 0) order by k.bucket),
        'claimed', array_agg(coalesce(s.claimed, 0) order by k.bucket),
        'succeeded', array_agg(coalesce(s.succeeded, 0) order by k.bucket),
        'failed', array_agg(coalesce(s.failed, 0) order by k.bucket),
        'requeued', array_agg(coalesce(s.requeued, 0) order by k.bucket),
        'retried', array_agg(coalesce(s.retried, 0) order by k.bucket),
        'cancelled', array_agg(coalesce(s.cancelled, 0) order by k.bucket),
        'refunds', array_agg(coalesce(s.refunds, 0) order by k.bucket),
        'refunded_credits', array_agg(coalesce(s.refunded_credits, 0) order by k.bucket),
        'failure_rate', array_agg(round(s.failed::numeric / nullif(s.succeeded + s.failed, 0), 4) order by k.bucket),
        'queued', array_agg(s.queued order by k.bucket),
        'running', array_agg(s.running order by k.bucket))
      from buckets k left join series s on s.bucket = k.bucket),
    'models', coalesce((select json_agg(json_build_object(
        'model_id', m.id, 'enabled', m.enabled, 'paused', m.paused, 'verification_state', m.verification_state,
        'circuit_state', h.circuit_state, 'consecutive_failures', h.consecutive_failures,
        'opened_at', h.opened_at, 'retry_after_until', h.retry_after_until,
        'queued', coalesce(l.queued, 0), 'running', coalesce(r.running, 0),
        'calls', coalesce(t.calls, 0), 'ok', coalesce(t.ok, 0), 'rate_limited', coalesce(t.rate_limited, 0),
        'server_error', coalesce(t.server_error, 0), 'timeout', coalesce(t.timeout, 0),
        'other_error', coalesce(t.other_error, 0), 'cost_usd', coalesce(t.cost_usd, 0),
        'p50_ms', private.histogram_percentile(t.hist, 0.5),
        'p95_ms', private.histogram_percentile(t.hist, 0.95),
        'p99_ms', private.histogram_percentile(t.hist, 0.99),
        'latency', (select json_build_object(
            'calls', array_agg(coalesce(b.calls, 0) order by k.bucket),
            'errors', array_agg(coalesce(b.errors, 0) order by k.bucket),
            'p50_ms', array_agg(case when b.hist is null then b.p50_ms else private.histogram_percentile(b.hist, 0.5) end order by k.bucket),
            'p95_ms', array_agg(case when b.hist is null then b.p95_ms else private.histogram_percentile(b.hist, 0.95) end order by k.bucket),
            'p99_ms', array_agg(case when b.hist is null then b.p99_ms else private.histogram_percentile(b.hist, 0.99) end order by k.bucket))
          from buckets k left join pb b on b.bucket = k.bucket and b.model_id = m.id)) order by m.id)
      from public.models m
      join public.model_health h on h.model_id = m.id
      left join live l on l.model_id = m.id
      left join running r on r.model_id = m.id
      left join pt t on t.model_id = m.id), '[]'::json)
  ) into v_result;
  return v_result;
end;
$$;
revoke all on function public.job_health(interval, interval) from public, anon;
grant execute on function public.job_health(interval, interval) to authenticated, service_role;
