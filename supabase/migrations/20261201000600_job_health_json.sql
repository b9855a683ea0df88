-- job_health returns json instead of jsonb: the same document, assembled as text.
--
-- The document is built to be sent to the console and never queried in SQL. As jsonb, each of
-- its numbers (about 20,000 over 24 hours in 1-minute buckets: 13 series and 5 latency arrays
-- per model, 1,441 buckets each) was printed, parsed back into a numeric, stored in a jsonb tree
-- and printed again for the client; as json it is printed once. Measured in one session over
-- 1,000,000 jobs and 1,000,000 provider calls, the two functions interleaved, 40 calls each
-- after 3 warm-ups, identical documents once parsed (key order aside):
--   24 hours / 1 minute    p50 50.1 -> 35.2 ms, p95 52.7 -> 42.7 ms
--   24 hours / 15 minutes  p50 35.8 -> 34.2 ms
--   1 hour / 1 minute      p50  6.3 ->  5.6 ms
--   7 days / 1 hour        p50 19.0 -> 17.6 ms
-- Callers see no difference: PostgREST, supabase-js and pg all hand back the parsed document.
-- Arguments, roles, errors and the document's shape are unchanged (see 20261123001800 and
-- 20261201000200); the return type cannot change in place, hence drop and create.
drop function public.job_health(interval, interval);

create function public.job_health(p_window interval default interval '1 hour', p_bucket interval default interval '1 minute')
returns json
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
alter function public.job_health(interval, interval) set plan_cache_mode = force_generic_plan;
