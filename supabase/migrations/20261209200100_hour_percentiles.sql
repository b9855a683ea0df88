-- Each hour rollup row keeps its latency percentiles, so job_health's hour buckets stop walking
-- a histogram per bucket and model.
-- - metrics_provider_hour gains p50_ms, p95_ms and p99_ms: private.histogram_percentiles over the
--   row's own histogram, computed by private.rollup_provider_hours whenever it writes the row (one
--   walk per model and minute of rollup), and here once for the rows that exist.
-- - job_health: a bucket that is exactly one hour row (the 7-day view's 1-hour buckets, but for
--   the minutes at its edges) takes the stored values instead of walking the merged histogram.
--   The values are the same function over the same histogram, so the document is unchanged. An
--   hour row without them (written by hand) is walked as before.
-- Backend CPU per call of the 7-day view on a 60-day history: the 338 histogram walks were about
-- 6 of its 15 ms (docs/benchmarks.md, Growth). Other windows are unchanged.
-- The histograms are still merged with 40 sum() terms (here, in job_health's two merging branches
-- and its totals): one aggregate over unnest(latency_hist) with ordinality took 151 ms where the
-- 40 terms took 19-26 ms (2,882 hour rows, 90 days), and a custom array-sum aggregate 109-134 ms.
-- Functions replaced and one column set added: if something holds a lock these need, the
-- deploy fails after 5 s.
set local lock_timeout = '5s';

-- Percentiles of latency_hist (ms, interpolated inside the histogram's bins; within about 12%),
-- null where the hour had no calls.
alter table public.metrics_provider_hour
  add column p50_ms double precision,
  add column p95_ms double precision,
  add column p99_ms double precision;

-- The rows that exist: at most 400 days of hours per model (about 10,000 rows a model).
update public.metrics_provider_hour h
   set p50_ms = p.pct[1], p95_ms = p.pct[2], p99_ms = p.pct[3]
  from (select x.hour, x.model_id, private.histogram_percentiles(x.latency_hist, '{0.5, 0.95, 0.99}') as pct
          from public.metrics_provider_hour x) p
 where p.hour = h.hour and p.model_id = h.model_id;

-- rollup_provider_hours(p_from, p_to): as in 20261123000900_metrics.sql, and the hour's
-- percentiles from the summed histogram.
create or replace function private.rollup_provider_hours(p_from timestamptz, p_to timestamptz) returns void
language sql
security definer
set search_path = ''
as $$
  insert into public.metrics_provider_hour as t (hour, model_id, calls, ok, rate_limited, server_error,
    timeout, other_error, latency_hist, cost_usd, p50_ms, p95_ms, p99_ms)
  select s.hour, s.model_id, s.calls, s.ok, s.rate_limited, s.server_error, s.timeout, s.other_error,
         s.latency_hist, s.cost_usd, s.pct[1], s.pct[2], s.pct[3]
    from (select s.*, private.histogram_percentiles(s.latency_hist, '{0.5, 0.95, 0.99}') as pct
            from (
  select date_bin('1 hour', m.minute, timestamptz 'epoch') as hour, m.model_id, sum(m.calls) as calls, sum(m.ok) as ok,
         sum(m.rate_limited) as rate_limited, sum(m.server_error) as server_error, sum(m.timeout) as timeout,
         sum(m.other_error) as other_error,
         array[sum(m.latency_hist[1]), sum(m.latency_hist[2]), sum(m.latency_hist[3]), sum(m.latency_hist[4]), sum(m.latency_hist[5]), sum(m.latency_hist[6]), sum(m.latency_hist[7]), sum(m.latency_hist[8]),
          sum(m.latency_hist[9]), sum(m.latency_hist[10]), sum(m.latency_hist[11]), sum(m.latency_hist[12]), sum(m.latency_hist[13]), sum(m.latency_hist[14]), sum(m.latency_hist[15]), sum(m.latency_hist[16]),
          sum(m.latency_hist[17]), sum(m.latency_hist[18]), sum(m.latency_hist[19]), sum(m.latency_hist[20]), sum(m.latency_hist[21]), sum(m.latency_hist[22]), sum(m.latency_hist[23]), sum(m.latency_hist[24]),
          sum(m.latency_hist[25]), sum(m.latency_hist[26]), sum(m.latency_hist[27]), sum(m.latency_hist[28]), sum(m.latency_hist[29]), sum(m.latency_hist[30]), sum(m.latency_hist[31]), sum(m.latency_hist[32]),
          sum(m.latency_hist[33]), sum(m.latency_hist[34]), sum(m.latency_hist[35]), sum(m.latency_hist[36]), sum(m.latency_hist[37]), sum(m.latency_hist[38]), sum(m.latency_hist[39]), sum(m.latency_hist[40])]::bigint[] as latency_hist,
         sum(m.cost_usd) as cost_usd
    from public.metrics_provider_minute m
   where m.minute >= date_bin('1 hour', p_from, timestamptz 'epoch') and m.minute < p_to
   group by 1, 2) s) s
  on conflict (hour, model_id) do update set
    calls = excluded.calls, ok = excluded.ok, rate_limited = excluded.rate_limited,
    server_error = excluded.server_error, timeout = excluded.timeout, other_error = excluded.other_error,
    latency_hist = excluded.latency_hist, cost_usd = excluded.cost_usd,
    p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms
$$;

-- job_health(p_window interval default '1 hour', p_bucket interval default '1 minute')
--   returns json   (support, admin, service_role)
-- The System Health document. Historical numbers come from the rollups (whole rolled-up hours
-- of provider calls from metrics_provider_hour, the minutes around them from the minute rows),
-- the minutes not rolled up yet from the raw tables (a minute or two, found through their
-- time indexes), and the current state from partial indexes on queued and running jobs. The window
-- is 1 minute to 400 days; the bucket a whole number of minutes, and whole hours for windows
-- over 7 days (minute rollups are kept for weeks, hour rollups for over a year:
-- 20261207300200_retention.sql); at most 2016 buckets. With whole-hour buckets the job series
-- also come from hour rows (metrics_job_hour), so a 90-day view reads about 2,200 rows per
-- model instead of 130,000.
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
create or replace function public.job_health(p_window interval default interval '1 hour', p_bucket interval default interval '1 minute')
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
  -- The minute rows read: [v_start, v_minutes_to) and [v_minutes_from, v_mark). With whole-hour
  -- buckets these are the edges around the whole hours; otherwise the first is the whole window.
  -- Two index ranges, not one range and a filter: a 90-day view would otherwise walk every
  -- minute row of the window to keep a few hundred.
  v_minutes_to timestamptz;
  v_minutes_from timestamptz;
  -- The job hour rows read (an empty range unless the buckets are whole hours).
  v_job_hours_to timestamptz;
  v_result json;
begin
  perform private.require_role(array['support', 'admin', 'service_role'], 'job_health');
  if p_window is null or p_window < interval '1 minute' or p_window > interval '400 days' then
    raise exception 'window must be between 1 minute and 400 days' using errcode = '22023';
  end if;
  if p_bucket is null or p_bucket < interval '1 minute' or extract(epoch from p_bucket)::numeric % 60 <> 0
     or extract(month from p_bucket) <> 0 then
    raise exception 'bucket must be a whole number of minutes' using errcode = '22023';
  end if;
  if p_window > interval '7 days' and extract(epoch from p_bucket)::bigint % 3600 <> 0 then
    raise exception 'windows over 7 days need buckets of whole hours' using errcode = '22023';
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
  if extract(epoch from p_bucket)::bigint % 3600 = 0 then
    v_minutes_to := least(v_mark, v_hours_from);
    v_minutes_from := greatest(v_start, v_hours_to);
    v_job_hours_to := v_hours_to;
  else
    v_minutes_to := v_mark;
    v_minutes_from := v_mark;
    v_job_hours_to := v_hours_from;
  end if;

  with jm as (
    -- With whole-hour buckets, the whole rolled-up hours come from the hour rows (an hour row's
    -- depths are those at the end of its hour, so "depth at the end of the bucket" holds).
    select h.hour as minute, h.model_id, h.created, h.claimed, h.succeeded, h.failed, h.requeued, h.retried,
           h.cancelled, h.refunds, h.refunded_credits, h.queued_depth, h.running_depth
      from public.metrics_job_hour h
     where h.hour >= v_hours_from and h.hour < v_job_hours_to
    union all
    select x.minute, x.model_id, x.created, x.claimed, x.succeeded, x.failed, x.requeued, x.retried,
           x.cancelled, x.refunds, x.refunded_credits, x.queued_depth, x.running_depth
      from public.metrics_job_minute x
     where (x.minute >= v_start and x.minute < v_minutes_to) or (x.minute >= v_minutes_from and x.minute < v_mark)
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
       -- Whole-hour buckets read whole hours from metrics_provider_hour (pc below), so only the
       -- minutes around them are read here.
     where (x.minute >= v_start and x.minute < v_minutes_to) or (x.minute >= v_minutes_from and x.minute < v_mark)
    union all
    select t.minute, t.model_id, t.calls, t.ok, t.rate_limited, t.server_error, t.timeout, t.other_error,
           t.latency_hist, t.p50_ms, t.p95_ms, t.p99_ms, t.cost_usd
      from private.provider_minutes(greatest(v_mark, v_start), v_to + interval '1 minute') t
  ), pc as (
    -- The same calls at the coarsest grain that still fits: whole rolled-up hours from
    -- metrics_provider_hour, the minutes around them from pm. Over 24 hours that is about 50
    -- rows per model instead of 1,440; over 7 days about 170 instead of 10,080.
    -- The histogram as bigint[], the hour rows' type: only the minutes around the hours (under
    -- two hours' worth per model) are cast, not every hour row (casting the 2,900 hour rows of
    -- a 90-day view element by element was about a fifth of its time).
    -- An hour row also brings its histogram's percentiles, computed when it was rolled up (null
    -- on a row written before they were stored: the bucket then computes them as before).
    select h.hour as minute, h.model_id, h.calls, h.ok, h.rate_limited, h.server_error, h.timeout,
           h.other_error, h.latency_hist, h.cost_usd,
           case when h.p50_ms is not null then array[h.p50_ms, h.p95_ms, h.p99_ms] end as pct
      from public.metrics_provider_hour h
     where h.hour >= v_hours_from and h.hour < v_hours_to
    union all
    select p.minute, p.model_id, p.calls, p.ok, p.rate_limited, p.server_error, p.timeout,
           p.other_error, p.latency_hist::bigint[], p.cost_usd, null
      from pm p
     where p.minute < v_hours_from or p.minute >= v_hours_to
  ), pb as materialized (
    -- The latency series' rows, per bucket and model: calls, errors, and pct = {p50, p95, p99},
    -- one histogram walk per bucket and model, once (materialised: each model's series reads
    -- its rows from here). One-minute buckets are the rollup rows themselves, with their exact
    -- percentiles: no grouping and no histogram merge (the 40 sums per row were a fifth of the
    -- function's time). Buckets of whole hours merge pc's rows, other buckets pm's minutes
    -- (pm's integer[] histograms sum as bigint, faster than casting them). The branches'
    -- conditions depend only on p_bucket, so only one of them runs. The whole-hour branch also
    -- keeps its sums: pt takes the window's totals from them (91 rows a model for 90 days
    -- instead of 2,160 hour rows).
    select p.minute as bucket, p.model_id, p.calls::bigint as calls, (p.calls - p.ok)::bigint as errors,
           array[p.p50_ms, p.p95_ms, p.p99_ms] as pct,
           null::numeric as ok, null::numeric as rate_limited, null::numeric as server_error,
           null::numeric as timeout, null::numeric as other_error, null::numeric as cost_usd, null::bigint[] as hist
      from pm p where p_bucket = interval '1 minute'
    union all
    -- A bucket that is one whole hour row takes that row's stored percentiles (the same function
    -- over the same histogram, so the same values): a 7-day view in hours walks 4 histograms
    -- instead of 338, which were two fifths of its time.
    select g.bucket, g.model_id, g.calls, g.calls - g.ok,
           coalesce(g.stored_pct, private.histogram_percentiles(g.hist, '{0.5, 0.95, 0.99}')),
           g.ok, g.rate_limited, g.server_error, g.timeout, g.other_error, g.cost_usd, g.hist
      from (select date_bin(p_bucket, p.minute, timestamptz 'epoch') as bucket, p.model_id, sum(p.calls) as calls,
                   case when count(*) = 1 then min(p.pct) end as stored_pct,
                   sum(p.ok) as ok, sum(p.rate_limited) as rate_limited, sum(p.server_error) as server_error,
                   sum(p.timeout) as timeout, sum(p.other_error) as other_error, sum(p.cost_usd) as cost_usd,
                   array[sum(p.latency_hist[1]), sum(p.latency_hist[2]), sum(p.latency_hist[3]), sum(p.latency_hist[4]), sum(p.latency_hist[5]), sum(p.latency_hist[6]), sum(p.latency_hist[7]), sum(p.latency_hist[8]),
                   sum(p.latency_hist[9]), sum(p.latency_hist[10]), sum(p.latency_hist[11]), sum(p.latency_hist[12]), sum(p.latency_hist[13]), sum(p.latency_hist[14]), sum(p.latency_hist[15]), sum(p.latency_hist[16]),
                   sum(p.latency_hist[17]), sum(p.latency_hist[18]), sum(p.latency_hist[19]), sum(p.latency_hist[20]), sum(p.latency_hist[21]), sum(p.latency_hist[22]), sum(p.latency_hist[23]), sum(p.latency_hist[24]),
                   sum(p.latency_hist[25]), sum(p.latency_hist[26]), sum(p.latency_hist[27]), sum(p.latency_hist[28]), sum(p.latency_hist[29]), sum(p.latency_hist[30]), sum(p.latency_hist[31]), sum(p.latency_hist[32]),
                   sum(p.latency_hist[33]), sum(p.latency_hist[34]), sum(p.latency_hist[35]), sum(p.latency_hist[36]), sum(p.latency_hist[37]), sum(p.latency_hist[38]), sum(p.latency_hist[39]), sum(p.latency_hist[40])]::bigint[] as hist
              from pc p
             where extract(epoch from p_bucket)::bigint % 3600 = 0
             group by 1, 2) g
    union all
    select date_bin(p_bucket, p.minute, timestamptz 'epoch'), p.model_id, sum(p.calls), sum(p.calls - p.ok),
           private.histogram_percentiles(array[sum(p.latency_hist[1]), sum(p.latency_hist[2]), sum(p.latency_hist[3]), sum(p.latency_hist[4]), sum(p.latency_hist[5]), sum(p.latency_hist[6]), sum(p.latency_hist[7]), sum(p.latency_hist[8]),
             sum(p.latency_hist[9]), sum(p.latency_hist[10]), sum(p.latency_hist[11]), sum(p.latency_hist[12]), sum(p.latency_hist[13]), sum(p.latency_hist[14]), sum(p.latency_hist[15]), sum(p.latency_hist[16]),
             sum(p.latency_hist[17]), sum(p.latency_hist[18]), sum(p.latency_hist[19]), sum(p.latency_hist[20]), sum(p.latency_hist[21]), sum(p.latency_hist[22]), sum(p.latency_hist[23]), sum(p.latency_hist[24]),
             sum(p.latency_hist[25]), sum(p.latency_hist[26]), sum(p.latency_hist[27]), sum(p.latency_hist[28]), sum(p.latency_hist[29]), sum(p.latency_hist[30]), sum(p.latency_hist[31]), sum(p.latency_hist[32]),
             sum(p.latency_hist[33]), sum(p.latency_hist[34]), sum(p.latency_hist[35]), sum(p.latency_hist[36]), sum(p.latency_hist[37]), sum(p.latency_hist[38]), sum(p.latency_hist[39]), sum(p.latency_hist[40])]::bigint[], '{0.5, 0.95, 0.99}'),
           null, null, null, null, null, null, null
      from pm p
     where p_bucket <> interval '1 minute' and extract(epoch from p_bucket)::bigint % 3600 <> 0
     group by 1, 2
  ), pt as (
    -- The window's totals per model: from the bucket rows when they merged pc (whole hours),
    -- otherwise from pc itself.
    select p.model_id, sum(p.calls) as calls, sum(p.ok) as ok, sum(p.rate_limited) as rate_limited,
           sum(p.server_error) as server_error, sum(p.timeout) as timeout, sum(p.other_error) as other_error,
           sum(p.cost_usd) as cost_usd,
           private.histogram_percentiles(array[sum(p.hist[1]), sum(p.hist[2]), sum(p.hist[3]), sum(p.hist[4]), sum(p.hist[5]), sum(p.hist[6]), sum(p.hist[7]), sum(p.hist[8]),
             sum(p.hist[9]), sum(p.hist[10]), sum(p.hist[11]), sum(p.hist[12]), sum(p.hist[13]), sum(p.hist[14]), sum(p.hist[15]), sum(p.hist[16]),
             sum(p.hist[17]), sum(p.hist[18]), sum(p.hist[19]), sum(p.hist[20]), sum(p.hist[21]), sum(p.hist[22]), sum(p.hist[23]), sum(p.hist[24]),
             sum(p.hist[25]), sum(p.hist[26]), sum(p.hist[27]), sum(p.hist[28]), sum(p.hist[29]), sum(p.hist[30]), sum(p.hist[31]), sum(p.hist[32]),
             sum(p.hist[33]), sum(p.hist[34]), sum(p.hist[35]), sum(p.hist[36]), sum(p.hist[37]), sum(p.hist[38]), sum(p.hist[39]), sum(p.hist[40])]::bigint[], '{0.5, 0.95, 0.99}') as pct
      from (select b.model_id, b.calls, b.ok, b.rate_limited, b.server_error, b.timeout, b.other_error,
                   b.cost_usd, b.hist
              from pb b where extract(epoch from p_bucket)::bigint % 3600 = 0
            union all
            select x.model_id, x.calls, x.ok, x.rate_limited, x.server_error, x.timeout, x.other_error,
                   x.cost_usd, x.latency_hist
              from pc x where extract(epoch from p_bucket)::bigint % 3600 <> 0) p
     group by p.model_id
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
        'p50_ms', t.pct[1], 'p95_ms', t.pct[2], 'p99_ms', t.pct[3],
        'latency', (select json_build_object(
            'calls', array_agg(coalesce(b.calls, 0) order by k.bucket),
            'errors', array_agg(coalesce(b.errors, 0) order by k.bucket),
            'p50_ms', array_agg(b.pct[1] order by k.bucket),
            'p95_ms', array_agg(b.pct[2] order by k.bucket),
            'p99_ms', array_agg(b.pct[3] order by k.bucket))
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
