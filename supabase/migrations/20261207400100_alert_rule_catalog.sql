-- Each alert rule defined once. A rule is its row in public.alert_rules (settings, and the words
-- and unit the console shows its parameters in) and its measurement, the SQL function
-- private.alert_measure_<rule id>; private.alert_rule_values dispatches to it by the rule's id.
-- The list of rule ids that the id's CHECK held is gone: a trigger refuses a row whose
-- measurement does not exist, so a rule cannot be in one place and not the other. Adding a rule
-- is one migration (its function, then its row) and one test in supabase/tests/alert-rules.test.ts.
--
-- Every measurement reads the same counts as the metrics rollups: job counts per minute are
-- private.job_event_minutes (what rollup_metrics stores in metrics_job_minute), call counts
-- private.provider_minutes, for the minutes the rollups have not reached yet.

set local lock_timeout = '5s';

-- The rule's words, read by the console: "Fires when <threshold_wording> <threshold>", and what
-- its window and its minimum count mean; null where the rule has no such parameter.
alter table public.alert_rules drop constraint alert_rules_id_check;
alter table public.alert_rules
  add column threshold_wording text,
  add column window_wording text,
  add column min_count_wording text;
update public.alert_rules r
   set threshold_wording = w.threshold_wording, window_wording = w.window_wording, min_count_wording = w.min_count_wording
  from (values
    ('failure_rate', 'failed share of finished jobs above', 'over the last (minutes)', 'finished jobs at least'),
    ('model_failure_rate', 'failed share of a model’s finished jobs above', 'over the last (minutes)', 'finished jobs at least'),
    ('queue_stalled', 'oldest runnable job waiting longer than', null, null),
    ('jobs_stuck', 'jobs stuck more than', 'running longer than (minutes)', null),
    ('jobs_rescued', 'jobs rescued by the reaper more than', 'over the last (minutes)', null),
    ('circuit_open', 'a model’s circuit open longer than', null, null),
    ('rate_limited_share', 'share of a model’s calls answered 429 above', 'over the last (minutes)', 'calls at least'),
    ('latency_p95', 'a model’s p95 Gemini call time above', 'over the last (minutes)', 'calls at least'),
    ('spend_per_hour', 'Gemini spend above', 'over the last (minutes)', null),
    ('calls_per_job', 'billed calls per succeeded job above', 'over the last (minutes)', 'succeeded jobs at least'),
    ('no_worker', 'runnable jobs waiting with no worker longer than', null, null)
  ) as w (id, threshold_wording, window_wording, min_count_wording)
 where r.id = w.id;
-- The table holds one row per rule (eleven): the scans these checks make are instant, and NOT
-- VALID would leave the rows already there unchecked.
-- A parameter the rule has is worded; one it does not have is not.
-- squawk-ignore adding-not-nullable-field
alter table public.alert_rules alter column threshold_wording set not null;
-- squawk-ignore constraint-missing-not-valid
alter table public.alert_rules add constraint alert_rules_id_format check (id ~ '^[a-z][a-z0-9_]{0,40}$');
-- squawk-ignore constraint-missing-not-valid
alter table public.alert_rules add constraint alert_rules_window_worded check ((window_minutes is null) = (window_wording is null));
-- squawk-ignore constraint-missing-not-valid
alter table public.alert_rules add constraint alert_rules_min_count_worded check ((min_count is null) = (min_count_wording is null));

-- The measurement's signature, for the trigger below and the dispatch.
create function private.alert_rule_measurement(p_rule_id text) returns regprocedure
language sql stable
as $$
  select to_regprocedure(format('private.%I(public.alert_rules, timestamptz, jsonb, jsonb)', 'alert_measure_' || p_rule_id))
$$;

create function private.alert_rule_is_measured() returns trigger
language plpgsql
as $$
begin
  if private.alert_rule_measurement(new.id) is null then
    raise exception 'alert rule % has no measurement: create private.alert_measure_%(public.alert_rules, timestamptz, jsonb, jsonb) first', new.id, new.id
      using errcode = '23514';
  end if;
  return new;
end;
$$;
create trigger alert_rules_measured before insert or update of id on public.alert_rules
  for each row execute function private.alert_rule_is_measured();

-- Job counts per minute and model from the timeline, as the rollups define them (claimed: to
-- running; succeeded; failed: final failures; ...). rollup_metrics stores them through
-- private.job_minutes; the evaluation reads the minutes not rolled up yet straight from here.
create function private.job_event_minutes(p_from timestamptz, p_to timestamptz)
returns table (minute timestamptz, model_id text, created integer, claimed integer, succeeded integer,
               failed integer, requeued integer, retried integer, cancelled integer,
               queued_delta integer, running_delta integer)
language sql stable
as $$
  select date_bin('1 minute', ev.at, timestamptz 'epoch'), ev.model_id,
         count(*) filter (where ev.from_status is null)::integer,
         count(*) filter (where ev.to_status = 'running')::integer,
         count(*) filter (where ev.to_status = 'succeeded')::integer,
         count(*) filter (where ev.to_status = 'failed')::integer,
         count(*) filter (where ev.from_status = 'running' and ev.to_status = 'queued')::integer,
         count(*) filter (where ev.from_status in ('failed', 'cancelled'))::integer,
         count(*) filter (where ev.to_status = 'cancelled')::integer,
         (count(*) filter (where ev.to_status = 'queued') - count(*) filter (where ev.from_status = 'queued'))::integer,
         (count(*) filter (where ev.to_status = 'running') - count(*) filter (where ev.from_status = 'running'))::integer
    from public.job_events ev
   where ev.at >= p_from and ev.at < p_to
   group by 1, 2
$$;

create or replace function private.job_minutes(p_from timestamptz, p_to timestamptz)
returns table (minute timestamptz, model_id text, created integer, claimed integer, succeeded integer,
               failed integer, requeued integer, retried integer, cancelled integer, refunds integer,
               refunded_credits bigint, queued_delta integer, running_delta integer)
language sql stable
as $$
  with r as (
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
    from private.job_event_minutes(p_from, p_to) e full join r on r.minute = e.minute and r.model_id = e.model_id
$$;

-- What happened since the rollups' watermark p_mark (at most a day back), per minute and model,
-- read once per evaluation and handed to every rule: the rollups' own counts.
create or replace function private.alert_recent_jobs(p_mark timestamptz) returns jsonb
language sql stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object('minute', m.minute, 'model_id', m.model_id, 'claimed', m.claimed,
                                               'succeeded', m.succeeded, 'failed', m.failed)), '[]'::jsonb)
    from private.job_event_minutes(greatest(p_mark, now() - interval '1 day'), now() + interval '1 minute') m
$$;

create or replace function private.alert_recent_calls(p_mark timestamptz) returns jsonb
language sql stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object('minute', m.minute, 'model_id', m.model_id, 'calls', m.calls, 'ok', m.ok,
                                               'rate_limited', m.rate_limited, 'cost_usd', m.cost_usd,
                                               'latency_hist', m.latency_hist)), '[]'::jsonb)
    from private.provider_minutes(greatest(p_mark, now() - interval '1 day'), now() + interval '1 minute') m
$$;

-- Gemini call counts per model over the minutes from p_from: rollup rows before the watermark,
-- the recent rows (private.alert_recent_calls, the same shape) after it; the latency histogram
-- (40 bins, summed bin by bin) only when asked for.
create or replace function private.alert_call_counts(p_from timestamptz, p_mark timestamptz, p_recent jsonb, p_with_latency boolean)
returns table (model_id text, calls bigint, ok bigint, rate_limited bigint, cost_usd numeric, latency_hist bigint[])
language sql stable
as $$
  with minutes as (
    select x.model_id, x.calls::bigint as calls, x.ok::bigint as ok, x.rate_limited::bigint as rate_limited, x.cost_usd,
           x.latency_hist::bigint[] as latency_hist
      from public.metrics_provider_minute x
     where x.minute >= p_from and x.minute < p_mark
    union all
    select t.model_id, t.calls, t.ok, t.rate_limited, t.cost_usd, t.latency_hist
      from jsonb_to_recordset(p_recent)
           as t(minute timestamptz, model_id text, calls bigint, ok bigint, rate_limited bigint, cost_usd numeric, latency_hist bigint[])
     where t.minute >= p_from
  ), totals as (
    select m.model_id, sum(m.calls)::bigint as calls, sum(m.ok)::bigint as ok, sum(m.rate_limited)::bigint as rate_limited,
           sum(m.cost_usd) as cost_usd
      from minutes m
     group by m.model_id
  ), bins as (
    select m.model_id, h.i, sum(h.n)::bigint as n
      from minutes m cross join lateral unnest(m.latency_hist) with ordinality h(n, i)
     where p_with_latency
     group by 1, 2
  )
  select t.model_id, t.calls, t.ok, t.rate_limited, t.cost_usd,
         case when p_with_latency then
           (select array_agg(coalesce(b.n, 0) order by g.i)
              from generate_series(1, 40) g(i) left join bins b on b.model_id = t.model_id and b.i = g.i) end
    from totals t
$$;

-- The start of a rule's window (whole minutes), and the words every summary ends with.
create function private.alert_window_start(r public.alert_rules) returns timestamptz
language sql stable
as $$
  select date_bin('1 minute', now() - make_interval(mins => coalesce(r.window_minutes, 0)), timestamptz 'epoch')
$$;

create function private.alert_threshold_words(r public.alert_rules) returns text
language sql immutable
as $$
  select format('(threshold %s)', private.alert_format_value(r.unit, r.threshold))
$$;

-- The measurements. Each returns one row per subject ('' for a global rule, every model for a
-- per-model rule), with the value (null: nothing to measure), whether it fires (value above the
-- threshold, with the rule's minimum count met), the sentence the console and the messages
-- show, and the evidence (counts; the jobs and models involved). Each is planned once per
-- session (force_generic_plan): planning these statements costs more than running them, and one
-- plan fits every call, the window's bounds only selecting ranges of rollup rows.

-- Final failures only (a retried attempt is not a failed job); a job's outcome is counted in the
-- minute it finished. Shared by the global rule and the per-model one.
create function private.alert_failure_share(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_per_model boolean)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with c as (
    select case when p_per_model then m.id else '' end as k,
           coalesce(sum(jc.succeeded), 0) + coalesce(sum(jc.failed), 0) as finished, coalesce(sum(jc.failed), 0) as failed
      from public.models m
      left join private.alert_job_counts(private.alert_window_start(r), p_mark, p_jobs) jc on jc.model_id = m.id
     group by 1
  )
  select c.k, round(100.0 * c.failed / nullif(c.finished, 0), 2),
         c.finished >= r.min_count and 100.0 * c.failed / nullif(c.finished, 0) > r.threshold,
         case when c.finished = 0 then format('no finished jobs in the last %s min', r.window_minutes)
              else format('%s of %s finished jobs failed in the last %s min %s',
                          private.alert_format_value('percent', round(100.0 * c.failed / c.finished, 2)), c.finished,
                          r.window_minutes, private.alert_threshold_words(r)) end,
         jsonb_build_object('finished', c.finished, 'failed', c.failed, 'model_id', nullif(c.k, ''))
    from c;
end;
$$;

create function private.alert_measure_failure_rate(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language sql stable
as $$ select * from private.alert_failure_share(r, p_mark, p_jobs, false) $$;

create function private.alert_measure_model_failure_rate(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language sql stable
as $$ select * from private.alert_failure_share(r, p_mark, p_jobs, true) $$;

-- The oldest runnable job (run_at passed) of an enabled model that is not paused: a paused queue
-- is meant to wait. Per model the first 1,000 queued jobs in enqueue order, read from the
-- partial index of queued jobs, bound the cost however long a queue grows.
create function private.alert_measure_queue_stalled(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select ''::text, round((extract(epoch from now() - w.run_at) / 60)::numeric, 1),
         coalesce(extract(epoch from now() - w.run_at) / 60 > r.threshold, false),
         case when w.id is null then 'no runnable job is waiting'
              else format('the oldest runnable job of %s has waited %s %s', w.model_id,
                          private.alert_format_value('minutes', round((extract(epoch from now() - w.run_at) / 60)::numeric, 1)),
                          private.alert_threshold_words(r)) end,
         case when w.id is null then '{}'::jsonb
              else jsonb_build_object('model_id', w.model_id, 'job_ids', jsonb_build_array(w.id)) end
    from (select 1) one
    left join lateral (
      select q.id, q.run_at, m.id as model_id
        from public.models m
        cross join lateral (
          select j.id, j.run_at from public.jobs j
           where j.status = 'queued' and j.model_id = m.id
           order by j.created_at
           limit 1000) q
       where m.enabled and not m.paused and q.run_at <= now()
       order by q.run_at
       limit 1) w on true;
end;
$$;

-- Running longer than the window: still heartbeating on a call that will not end, or not
-- heartbeating with no reaper to act (a dead worker's job is normally reaped within about two
-- minutes, long before this).
create function private.alert_measure_jobs_stuck(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select ''::text, count(*)::numeric, count(*) > r.threshold,
         format('%s running for more than %s min %s', private.alert_format_value('jobs', count(*)), r.window_minutes,
                private.alert_threshold_words(r)),
         jsonb_build_object(
           'job_ids', coalesce(to_jsonb((array_agg(j.id order by j.attempted_at))[1:20]), '[]'::jsonb),
           'model_ids', coalesce(to_jsonb(array_agg(distinct j.model_id)), '[]'::jsonb),
           'lease_expired', count(*) filter (where j.lease_expires_at < now()),
           'longest_running_minutes', round((extract(epoch from now() - min(j.attempted_at)) / 60)::numeric, 1))
    from public.jobs j
   where j.status = 'running' and j.attempted_at < now() - make_interval(mins => r.window_minutes);
end;
$$;

create function private.alert_measure_jobs_rescued(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select ''::text, count(distinct e.job_id)::numeric, count(distinct e.job_id) > r.threshold,
         format('%s rescued by the reaper in the last %s min %s', private.alert_format_value('jobs', count(distinct e.job_id)),
                r.window_minutes, private.alert_threshold_words(r)),
         jsonb_build_object(
           'job_ids', coalesce(to_jsonb((array_agg(distinct e.job_id))[1:20]), '[]'::jsonb),
           'model_ids', coalesce(to_jsonb(array_agg(distinct e.model_id)), '[]'::jsonb),
           'requeued', count(*) filter (where e.to_status = 'queued'),
           'failed', count(*) filter (where e.to_status = 'failed'))
    from public.job_events e
   where e.actor_role = 'reaper' and e.at >= now() - make_interval(mins => r.window_minutes);
end;
$$;

-- Open since the first failed call after the model's last success: the circuit cycles open,
-- half-open, open while its probes fail, and closes only on a success, so opened_at alone would
-- restart with every failed probe. Only models whose circuit is not closed look at their calls,
-- and only at those since the last success (at most a day).
create function private.alert_measure_circuit_open(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select m.id, v.minutes, coalesce(v.minutes > r.threshold, false),
         case when v.minutes is null then 'circuit closed'
              else format('circuit %s for %s %s', replace(h.circuit_state, '_', '-'),
                          private.alert_format_value('minutes', v.minutes), private.alert_threshold_words(r)) end,
         jsonb_build_object('model_id', m.id, 'circuit_state', h.circuit_state, 'failing_since', b.since,
                            'consecutive_failures', h.consecutive_failures, 'last_success_at', h.last_success_at)
    from public.models m
    join public.model_health h on h.model_id = m.id
    left join lateral (
      select min(pc.started_at) as since from public.provider_calls pc
       where h.circuit_state <> 'closed' and pc.model_id = m.id
         and pc.outcome in ('server_error', 'timeout', 'network_error')
         and pc.recorded_at > greatest(coalesce(h.last_success_at, '-infinity'), now() - interval '1 day')) b on true
    cross join lateral (
      select case when h.circuit_state <> 'closed'
                  then round((extract(epoch from now() - coalesce(b.since, h.opened_at, now())) / 60)::numeric, 1) end as minutes) v;
end;
$$;

-- A model's Gemini calls over the rule's window, every model listed (none: zero calls).
create function private.alert_model_calls(r public.alert_rules, p_mark timestamptz, p_calls jsonb, p_with_latency boolean)
returns table (model_id text, calls bigint, rate_limited bigint, latency_hist bigint[])
language sql stable
as $$
  select m.id, coalesce(cc.calls, 0), coalesce(cc.rate_limited, 0), cc.latency_hist
    from public.models m
    left join private.alert_call_counts(private.alert_window_start(r), p_mark, p_calls, p_with_latency) cc on cc.model_id = m.id
$$;

create function private.alert_measure_rate_limited_share(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select c.model_id, v.share, c.calls >= r.min_count and v.share > r.threshold,
         case when c.calls = 0 then format('no Gemini calls in the last %s min', r.window_minutes)
              else format('%s of %s calls answered 429 in the last %s min %s', private.alert_format_value('percent', v.share), c.calls,
                          r.window_minutes, private.alert_threshold_words(r)) end,
         jsonb_build_object('model_id', c.model_id, 'calls', c.calls, 'rate_limited', c.rate_limited)
    from private.alert_model_calls(r, p_mark, p_calls, false) c
    cross join lateral (select round(100.0 * c.rate_limited / nullif(c.calls, 0), 2) as share) v;
end;
$$;

-- The 95th percentile from the rollups' latency histograms (within a bin's width, about 12%).
create function private.alert_measure_latency_p95(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select c.model_id, v.p95, c.calls >= r.min_count and v.p95 > r.threshold,
         case when c.calls = 0 then format('no Gemini calls in the last %s min', r.window_minutes)
              else format('p95 %s over %s calls in the last %s min %s', private.alert_format_value('ms', v.p95), c.calls,
                          r.window_minutes, private.alert_threshold_words(r)) end,
         jsonb_build_object('model_id', c.model_id, 'calls', c.calls, 'rate_limited', c.rate_limited)
    from private.alert_model_calls(r, p_mark, p_calls, true) c
    cross join lateral (select private.histogram_percentile(c.latency_hist, 0.95)::numeric as p95) v;
end;
$$;

create function private.alert_measure_spend_per_hour(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select ''::text, round(coalesce(sum(cc.cost_usd), 0), 2), coalesce(sum(cc.cost_usd), 0) > r.threshold,
         format('%s spent on Gemini calls in the last %s min %s', private.alert_format_value('usd', coalesce(sum(cc.cost_usd), 0)),
                r.window_minutes, private.alert_threshold_words(r)),
         jsonb_build_object('by_model', coalesce(jsonb_object_agg(cc.model_id, round(cc.cost_usd, 2)) filter (where cc.model_id is not null), '{}'::jsonb),
                            'calls', coalesce(sum(cc.calls), 0))
    from private.alert_call_counts(private.alert_window_start(r), p_mark, p_calls, false) cc;
end;
$$;

-- Billed (ok) calls: a retried failure is not billed, a job run twice is. Normally one per
-- succeeded job; several workers running the same job is what multiplies it. Materialized: the
-- two counts are used several times below, and an inlined CTE would run each scalar subquery
-- once per use.
create function private.alert_measure_calls_per_job(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with c as materialized (
    select (select coalesce(sum(cc.ok), 0) from private.alert_call_counts(private.alert_window_start(r), p_mark, p_calls, false) cc) as billed,
           (select coalesce(sum(jc.succeeded), 0) from private.alert_job_counts(private.alert_window_start(r), p_mark, p_jobs) jc) as succeeded
  )
  select ''::text, round(c.billed::numeric / nullif(c.succeeded, 0), 2),
         c.succeeded >= r.min_count and c.billed::numeric / nullif(c.succeeded, 0) > r.threshold,
         case when c.succeeded = 0 then format('no succeeded jobs in the last %s min', r.window_minutes)
              else format('%s billed calls per succeeded job (%s calls, %s jobs) in the last %s min %s',
                          private.alert_format_value('ratio', round(c.billed::numeric / c.succeeded, 2)), c.billed, c.succeeded,
                          r.window_minutes, private.alert_threshold_words(r)) end,
         jsonb_build_object('billed_calls', c.billed, 'succeeded', c.succeeded)
    from c;
end;
$$;

-- Runnable: queued, run_at passed, on a model that is enabled, not paused, with a closed circuit
-- and no Retry-After in force (jobs a worker would claim now). Quiet while any job runs or was
-- claimed within the threshold's minutes.
create function private.alert_measure_no_worker(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with runnable as (
    select min(q.run_at) as oldest, (array_agg(q.id order by q.run_at))[1] as job_id,
           array_agg(distinct m.id) as model_ids
      from public.models m
      join public.model_health h on h.model_id = m.id
      cross join lateral (
        select j.id, j.run_at from public.jobs j
         where j.status = 'queued' and j.model_id = m.id
         order by j.created_at
         limit 1000) q
     where m.enabled and not m.paused and h.circuit_state = 'closed'
       and (h.retry_after_until is null or h.retry_after_until <= now()) and q.run_at <= now()
  ), active as materialized (
    select exists (select 1 from public.jobs x where x.status = 'running')
        or coalesce((select sum(jc.claimed)
                       from private.alert_job_counts(date_bin('1 minute', now() - make_interval(mins => ceil(r.threshold)::integer),
                                                              timestamptz 'epoch'), p_mark, p_jobs) jc), 0) > 0 as yes
  ), v as (
    select case when runnable.oldest is null then null
                when active.yes then 0::numeric
                else round((extract(epoch from now() - runnable.oldest) / 60)::numeric, 1) end as minutes,
           runnable.*, active.yes
      from runnable, active
  )
  select ''::text, v.minutes, coalesce(v.minutes > r.threshold, false),
         case when v.minutes is null then 'no runnable job is waiting'
              when v.yes then 'workers are claiming jobs'
              else format('runnable jobs have waited %s with no job running or claimed %s',
                          private.alert_format_value('minutes', v.minutes), private.alert_threshold_words(r)) end,
         case when v.job_id is null then '{}'::jsonb
              else jsonb_build_object('job_ids', jsonb_build_array(v.job_id), 'model_ids', to_jsonb(v.model_ids)) end
    from v;
end;
$$;

-- What one rule measures now: its own measurement, found by the rule's id.
create or replace function private.alert_rule_values(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
as $$
declare
  v_measure regprocedure := private.alert_rule_measurement(r.id);
begin
  if v_measure is null then
    raise exception 'alert rule % has no measurement', r.id using errcode = '23514';
  end if;
  return query execute format('select * from %s($1, $2, $3, $4)', v_measure::oid::regproc) using r, p_mark, p_jobs, p_calls;
end;
$$;

-- The life of an incident, one transition per function, each writing its event:
--   open     a rule (and subject) fires with no open incident: 'opened', and the 'opened'
--            message queued for the channels unless the rule is silenced;
--   keep     it fires with its incident open: the value recorded ('value'), or 'firing_again'
--            when it had cleared within the hold-down;
--   clear    its condition is clear: 'cleared' the first time, its value after that;
--   resolve  clear for the whole hold-down: 'resolved', and the 'resolved' message queued for
--            the channels that had the 'opened' one.
-- open and resolve return how many messages they queued.
create function private.alert_incident_open(p_rule public.alert_rules, p_subject text, p_value numeric, p_summary text, p_detail jsonb)
returns integer
language plpgsql
as $$
declare
  v_incident public.alert_incidents;
begin
  insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, value, peak_value, detail, notify)
  values (p_rule.id, p_subject, p_rule.severity, p_rule.name || case when p_subject <> '' then ': ' || p_subject else '' end,
          p_summary, p_rule.unit, p_rule.threshold, p_value, p_value, p_detail, not coalesce(p_rule.silenced_until > now(), false))
  returning * into v_incident;
  insert into public.alert_incident_events (incident_id, kind, value, actor_role, note)
  values (v_incident.id, 'opened', p_value, 'evaluator',
          case when not v_incident.notify then 'the rule is silenced: nothing is sent outward' end);
  return case when v_incident.notify then private.enqueue_alert_deliveries(v_incident, 'opened') else 0 end;
end;
$$;

create function private.alert_incident_keep(p_incident public.alert_incidents, p_value numeric, p_summary text, p_detail jsonb)
returns void
language plpgsql
as $$
begin
  update public.alert_incidents
     set value = p_value, peak_value = greatest(peak_value, p_value), summary = p_summary, detail = p_detail,
         last_fired_at = now(), clear_since = null, updated_at = now()
   where id = p_incident.id;
  insert into public.alert_incident_events (incident_id, kind, value, actor_role)
  values (p_incident.id, case when p_incident.clear_since is null then 'value' else 'firing_again' end, p_value, 'evaluator');
end;
$$;

create function private.alert_incident_clear(p_incident public.alert_incidents, p_value numeric, p_summary text)
returns public.alert_incidents
language plpgsql
as $$
declare
  v_incident public.alert_incidents;
begin
  update public.alert_incidents
     set clear_since = coalesce(clear_since, now()), value = p_value, summary = coalesce(p_summary, summary), updated_at = now()
   where id = p_incident.id
  returning * into v_incident;
  insert into public.alert_incident_events (incident_id, kind, value, actor_role)
  values (p_incident.id, case when p_incident.clear_since is null then 'cleared' else 'value' end, p_value, 'evaluator');
  return v_incident;
end;
$$;

create function private.alert_incident_resolve(p_incident public.alert_incidents, p_value numeric, p_summary text)
returns integer
language plpgsql
as $$
declare
  v_incident public.alert_incidents;
begin
  update public.alert_incidents
     set status = 'resolved', resolved_at = now(), clear_since = coalesce(clear_since, now()),
         value = p_value, summary = coalesce(p_summary, summary), updated_at = now()
   where id = p_incident.id
  returning * into v_incident;
  insert into public.alert_incident_events (incident_id, kind, value, actor_role)
  values (v_incident.id, 'resolved', v_incident.value, 'evaluator');
  return private.enqueue_alert_deliveries(v_incident, 'resolved');
end;
$$;

-- evaluate_alerts() returns jsonb   (service_role; pg_cron or the local scheduler, every minute)
-- Measures every enabled rule and moves its incidents through the transitions above. Returns
-- {"opened", "kept", "cleared", "resolved", "queued", "duration_ms"}, or {"skipped"} when
-- another evaluation is running (one at a time: see 20261206100600_evaluate_alerts.sql).
create or replace function public.evaluate_alerts() returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_started timestamptz := clock_timestamp();
  v_mark timestamptz;
  v_jobs jsonb;
  v_calls jsonb;
  v_rule public.alert_rules;
  v_row record;
  v_incident public.alert_incidents;
  v_values jsonb;
  v_firing text[];
  v_now jsonb;
  v_held_down boolean;
  v_opened integer := 0;
  v_kept integer := 0;
  v_cleared integer := 0;
  v_resolved integer := 0;
  v_queued integer := 0;
  v_result jsonb;
begin
  perform private.require_role(array['service_role'], 'evaluate_alerts');
  perform 1 from public.alert_evaluation_state where id for update skip locked;
  if not found then
    return jsonb_build_object('skipped', 'another evaluation is running');
  end if;
  update public.alert_evaluation_state set last_started_at = now() where id;
  select coalesce(s.rolled_until, '-infinity') into v_mark from public.metrics_rollup_state s where s.id;
  v_jobs := private.alert_recent_jobs(v_mark);
  v_calls := private.alert_recent_calls(v_mark);

  for v_rule in select * from public.alert_rules order by id loop
    v_values := '{}'::jsonb;
    v_firing := '{}';
    if v_rule.enabled then
      for v_row in select * from private.alert_rule_values(v_rule, v_mark, v_jobs, v_calls) loop
        v_values := v_values || jsonb_build_object(v_row.subject, jsonb_build_object('value', v_row.value, 'summary', v_row.summary));
        continue when not coalesce(v_row.firing, false);
        v_firing := v_firing || v_row.subject;
        select * into v_incident from public.alert_incidents i
         where i.rule_id = v_rule.id and i.subject = v_row.subject and i.status = 'open'
           for update;
        if found then
          perform private.alert_incident_keep(v_incident, v_row.value, v_row.summary, v_row.detail);
          v_kept := v_kept + 1;
        else
          v_queued := v_queued + private.alert_incident_open(v_rule, v_row.subject, v_row.value, v_row.summary, v_row.detail);
          v_opened := v_opened + 1;
        end if;
      end loop;
    end if;

    -- Open incidents of this rule whose condition is clear now (or whose rule was disabled).
    for v_incident in
      select * from public.alert_incidents i
       where i.rule_id = v_rule.id and i.status = 'open' and not i.subject = any (v_firing)
       order by i.id
         for update
    loop
      v_now := v_values -> v_incident.subject;
      v_held_down := now() - coalesce(v_incident.clear_since, now()) >= make_interval(mins => v_rule.hold_down_minutes);
      if v_incident.clear_since is null then
        v_incident := private.alert_incident_clear(v_incident, (v_now ->> 'value')::numeric, v_now ->> 'summary');
        v_cleared := v_cleared + 1;
      elsif not v_held_down then
        v_incident := private.alert_incident_clear(v_incident, (v_now ->> 'value')::numeric, v_now ->> 'summary');
      end if;
      if v_held_down then
        v_queued := v_queued + private.alert_incident_resolve(v_incident, (v_now ->> 'value')::numeric, v_now ->> 'summary');
        v_resolved := v_resolved + 1;
      end if;
    end loop;
  end loop;

  v_result := jsonb_build_object('opened', v_opened, 'kept', v_kept, 'cleared', v_cleared, 'resolved', v_resolved,
    'queued', v_queued,
    'duration_ms', round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric, 2));
  update public.alert_evaluation_state
     set last_finished_at = clock_timestamp(), last_duration_ms = (v_result ->> 'duration_ms')::numeric,
         last_result = v_result
   where id;
  return v_result;
end;
$$;

revoke all on all functions in schema private from public;
