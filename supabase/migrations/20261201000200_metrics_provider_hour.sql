-- Hourly provider rollups, so job_health's wide views stop re-merging every minute.
--
-- Why: the window's latency percentiles come from merging 40-bin histograms, one per model and
-- minute. Over 24 hours that is 2,880 rows of 40 sums, about 12 ms of the 24-hour, 1-minute
-- call on the 2-core development machine (EXPLAIN ANALYZE over 1,000,000 calls); a 7-day
-- view in hourly buckets merged 20,160 minute rows twice (the totals and the buckets).
-- metrics_provider_hour holds the same sums per model and hour.
--
-- How it stays right: a trigger on the rollup watermark (metrics_rollup_state.rolled_until,
-- which rollup_metrics advances last, in the same transaction as the minute rows) recomputes
-- every hour the advance touched from metrics_provider_minute. An hour row is only read once
-- its whole hour lies before the watermark, so it is complete; the minutes around those
-- hours (the window's ragged start, the current hour, the tail not rolled up yet) are read as
-- before. Existing minute rows are folded into hours below.
--
-- job_health (same arguments, same document, same numbers) reads the hours for the window
-- totals always, and for the per-bucket latency when the bucket is a whole number of hours.

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

alter table public.metrics_provider_hour enable row level security;
revoke all on public.metrics_provider_hour from anon, authenticated, service_role;
grant select on public.metrics_provider_hour to authenticated, service_role;
create policy metrics_provider_hour_read on public.metrics_provider_hour for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

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

select private.rollup_provider_hours(min(minute), 'infinity') from public.metrics_provider_minute having count(*) > 0;

create or replace function public.job_health(p_window interval default interval '1 hour', p_bucket interval default interval '1 minute')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_to timestamptz := now();
  v_from timestamptz;
  v_start timestamptz;
  v_mark timestamptz;
  v_hours_from timestamptz;
  v_hours_to timestamptz;
  v_result jsonb;
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
  select jsonb_build_object(
    'generated_at', v_to,
    'rolled_up_to', case when v_mark = '-infinity' then null else v_mark end,
    'window', jsonb_build_object('from', v_from, 'to', v_to, 'bucket_seconds', extract(epoch from p_bucket)::integer),
    'current', jsonb_build_object(
      'queued', coalesce((select sum(live.queued) from live), 0),
      'running', coalesce((select sum(running.running) from running), 0),
      'oldest_queued_seconds', (select round(extract(epoch from v_to - min(live.oldest))::numeric, 1) from live),
      'active_workers', (select count(distinct w) from running, unnest(running.workers) w)),
    'totals', (select jsonb_build_object(
        'created', coalesce(sum(s.created), 0), 'claimed', coalesce(sum(s.claimed), 0),
        'succeeded', coalesce(sum(s.succeeded), 0), 'failed', coalesce(sum(s.failed), 0),
        'requeued', coalesce(sum(s.requeued), 0), 'retried', coalesce(sum(s.retried), 0),
        'cancelled', coalesce(sum(s.cancelled), 0), 'refunds', coalesce(sum(s.refunds), 0),
        'refunded_credits', coalesce(sum(s.refunded_credits), 0),
        'failure_rate', round(sum(s.failed) / nullif(sum(s.succeeded) + sum(s.failed), 0), 4))
      from series s),
    'series', (select jsonb_build_object(
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
    'models', coalesce((select jsonb_agg(jsonb_build_object(
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
        'latency', (select jsonb_build_object(
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
      left join pt t on t.model_id = m.id), '[]'::jsonb)
  ) into v_result;
  return v_result;
end;
$$;
revoke all on function public.job_health(interval, interval) from public, anon;
grant execute on function public.job_health(interval, interval) to authenticated, service_role;
revoke all on all functions in schema private from public;
