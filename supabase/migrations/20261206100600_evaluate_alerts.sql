-- The evaluation: evaluate_alerts(), run every minute (pg_cron on a hosted project, the local
-- scheduler locally, like the reaper), measures every enabled rule and moves the incidents:
--   * a rule (and subject) that fires with no open incident opens one: an 'opened' event, and
--     the 'opened' message queued for the channels (unless the rule is silenced);
--   * one that keeps firing keeps its incident: the value is recorded, nothing is sent again;
--   * an open incident whose condition is clear starts its hold-down ('cleared'); firing again
--     within it continues the same incident ('firing_again'); clear for the whole hold-down, it
--     resolves, and the 'resolved' message is queued for the channels that had the 'opened' one.
-- One evaluation at a time: a second one that starts while another runs returns at once
-- ({"skipped": ...}), so two schedulers, or a slow run overlapping the next tick, can never
-- open an incident twice (the unique index on open incidents would refuse it anyway).
--
-- Cheap at any table size: job and call counts come from the minute rollups
-- (metrics_job_minute, metrics_provider_minute) plus the minutes not rolled up yet, read once
-- per evaluation and shared by the rules; the live checks read the partial indexes of queued
-- and running jobs, the reaper's partial index on the timeline, and a model's calls since its
-- last success only while its circuit is not closed. The evaluation sends nothing itself:
-- messages are queued (alert_deliveries) and sent by others, so a slow receiver never delays it.

create table public.alert_evaluation_state (
  id boolean primary key default true check (id),
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_duration_ms numeric,
  last_result jsonb
);
insert into public.alert_evaluation_state (id) values (true);
alter table public.alert_evaluation_state enable row level security;
revoke all on public.alert_evaluation_state from anon, authenticated, service_role;
grant select on public.alert_evaluation_state to authenticated, service_role;
create policy alert_evaluation_state_read on public.alert_evaluation_state for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- A value as the console and the messages write it: 23.8%, 6.5 min, 3 jobs, 61.2 s, $52.10, 2.4×.
create function private.alert_format_value(p_unit text, p_value numeric) returns text
language sql immutable
as $$
  select case
    when p_value is null then 'no data'
    when p_unit = 'percent' then trim_scale(round(p_value, 2))::text || '%'
    when p_unit = 'minutes' then trim_scale(round(p_value, 1))::text || ' min'
    when p_unit = 'jobs' then round(p_value)::text || case when round(p_value) = 1 then ' job' else ' jobs' end
    when p_unit = 'ms' and p_value >= 1000 then trim_scale(round(p_value / 1000, 1))::text || ' s'
    when p_unit = 'ms' then round(p_value)::text || ' ms'
    when p_unit = 'usd' then '$' || to_char(p_value, 'FM999999990.00')
    else trim_scale(round(p_value, 2))::text || '×'
  end
$$;

-- What happened since the rollups' watermark p_mark (at most a day back), per minute and
-- model, read once per evaluation and handed to every rule. The timeline's and the calls'
-- rows after the watermark are found through their BRIN indexes, which read their last block
-- ranges whole: once per evaluation, not once per rule.
-- Job counts are rollup_metrics' own (claimed: to running; succeeded; failed: final failures).
create function private.alert_recent_jobs(p_mark timestamptz) returns jsonb
language sql stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object('minute', t.minute, 'model_id', t.model_id, 'claimed', t.claimed,
                                               'succeeded', t.succeeded, 'failed', t.failed)), '[]'::jsonb)
    from (select date_bin('1 minute', ev.at, timestamptz 'epoch') as minute, ev.model_id,
                 count(*) filter (where ev.to_status = 'running') as claimed,
                 count(*) filter (where ev.to_status = 'succeeded') as succeeded,
                 count(*) filter (where ev.to_status = 'failed') as failed
            from public.job_events ev
           where ev.at >= greatest(p_mark, now() - interval '1 day') and ev.at < now() + interval '1 minute'
           group by 1, 2) t
$$;

-- The same for Gemini calls, per minute, model and latency bin (private.latency_bin).
create function private.alert_recent_calls(p_mark timestamptz) returns jsonb
language sql stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object('minute', t.minute, 'model_id', t.model_id, 'bin', t.bin, 'calls', t.calls,
                                               'ok', t.ok, 'rate_limited', t.rate_limited, 'cost_usd', t.cost_usd)), '[]'::jsonb)
    from (select date_bin('1 minute', pc.recorded_at, timestamptz 'epoch') as minute, pc.model_id,
                 private.latency_bin(pc.duration_ms) as bin, count(*) as calls,
                 count(*) filter (where pc.outcome = 'ok') as ok,
                 count(*) filter (where pc.outcome = 'rate_limited') as rate_limited, sum(pc.cost_usd) as cost_usd
            from public.provider_calls pc
           where pc.recorded_at >= greatest(p_mark, now() - interval '1 day') and pc.recorded_at < now() + interval '1 minute'
           group by 1, 2, 3) t
$$;

-- Job counts per model over the minutes from p_from: rollup rows before the watermark, the
-- recent rows (private.alert_recent_jobs) after it.
create function private.alert_job_counts(p_from timestamptz, p_mark timestamptz, p_recent jsonb)
returns table (model_id text, claimed bigint, succeeded bigint, failed bigint)
language sql stable
as $$
  with minutes as (
    select x.model_id, x.claimed::bigint as claimed, x.succeeded::bigint as succeeded, x.failed::bigint as failed
      from public.metrics_job_minute x
     where x.minute >= p_from and x.minute < p_mark
    union all
    select t.model_id, t.claimed, t.succeeded, t.failed
      from jsonb_to_recordset(p_recent) as t(minute timestamptz, model_id text, claimed bigint, succeeded bigint, failed bigint)
     where t.minute >= p_from
  )
  select m.model_id, sum(m.claimed)::bigint, sum(m.succeeded)::bigint, sum(m.failed)::bigint
    from minutes m
   group by m.model_id
$$;

-- Gemini call counts per model over the minutes from p_from, read the same way; the latency
-- histogram (40 bins, summed bin by bin) only when asked for.
create function private.alert_call_counts(p_from timestamptz, p_mark timestamptz, p_recent jsonb, p_with_latency boolean)
returns table (model_id text, calls bigint, ok bigint, rate_limited bigint, cost_usd numeric, latency_hist bigint[])
language sql stable
as $$
  with rolled as (
    select x.model_id, x.calls, x.ok, x.rate_limited, x.cost_usd, x.latency_hist
      from public.metrics_provider_minute x
     where x.minute >= p_from and x.minute < p_mark
  ), recent as (
    select t.model_id, t.bin, t.calls, t.ok, t.rate_limited, t.cost_usd
      from jsonb_to_recordset(p_recent)
           as t(minute timestamptz, model_id text, bin integer, calls bigint, ok bigint, rate_limited bigint, cost_usd numeric)
     where t.minute >= p_from
  ), totals as (
    select u.model_id, sum(u.calls)::bigint as calls, sum(u.ok)::bigint as ok, sum(u.rate_limited)::bigint as rate_limited,
           sum(u.cost_usd) as cost_usd
      from (select r.model_id, r.calls, r.ok, r.rate_limited, r.cost_usd from rolled r
            union all
            select c.model_id, c.calls, c.ok, c.rate_limited, c.cost_usd from recent c) u
     group by u.model_id
  ), bins as (
    select b.model_id, b.i, sum(b.n)::bigint as n
      from (select r.model_id, h.i, h.n from rolled r cross join lateral unnest(r.latency_hist) with ordinality h(n, i)
             where p_with_latency
            union all
            select c.model_id, c.bin, c.calls from recent c where p_with_latency) b
     group by 1, 2
  )
  select t.model_id, t.calls, t.ok, t.rate_limited, t.cost_usd,
         case when p_with_latency then
           (select array_agg(coalesce(b.n, 0) order by g.i)
              from generate_series(1, 40) g(i) left join bins b on b.model_id = t.model_id and b.i = g.i) end
    from totals t
$$;

-- What one rule measures now: one row per subject ('' for a global rule, every model for a
-- per-model rule), with the value (null: nothing to measure), whether it fires (value above
-- the threshold, with the rule's minimum count met), the sentence the console and the messages
-- show, and the evidence (counts; the jobs and models involved).
create function private.alert_rule_values(r public.alert_rules, p_mark timestamptz, p_jobs jsonb, p_calls jsonb)
returns table (subject text, value numeric, firing boolean, summary text, detail jsonb)
language plpgsql stable
as $$
declare
  v_from timestamptz := date_bin('1 minute', now() - make_interval(mins => coalesce(r.window_minutes, 0)), timestamptz 'epoch');
  v_over text := format('in the last %s min', r.window_minutes);
  v_threshold text := format('(threshold %s)', private.alert_format_value(r.unit, r.threshold));
begin
  case r.id
  when 'failure_rate', 'model_failure_rate' then
    -- Final failures only (a retried attempt is not a failed job); a job's outcome is counted
    -- in the minute it finished.
    return query
    with c as (
      select case when r.id = 'failure_rate' then '' else m.id end as k,
             coalesce(sum(jc.succeeded), 0) + coalesce(sum(jc.failed), 0) as finished, coalesce(sum(jc.failed), 0) as failed
        from public.models m
        left join private.alert_job_counts(v_from, p_mark, p_jobs) jc on jc.model_id = m.id
       group by 1
    )
    select c.k, round(100.0 * c.failed / nullif(c.finished, 0), 2),
           c.finished >= r.min_count and 100.0 * c.failed / nullif(c.finished, 0) > r.threshold,
           case when c.finished = 0 then format('no finished jobs %s', v_over)
                else format('%s of %s finished jobs failed %s %s',
                            private.alert_format_value('percent', round(100.0 * c.failed / c.finished, 2)), c.finished, v_over, v_threshold) end,
           jsonb_build_object('finished', c.finished, 'failed', c.failed, 'model_id', nullif(c.k, ''))
      from c;

  when 'queue_stalled' then
    -- The oldest runnable job (run_at passed) of an enabled model that is not paused: a paused
    -- queue is meant to wait. Per model the first 1,000 queued jobs in enqueue order, read
    -- from the partial index of queued jobs, bound the cost however long a queue grows.
    return query
    select ''::text, round((extract(epoch from now() - w.run_at) / 60)::numeric, 1),
           coalesce(extract(epoch from now() - w.run_at) / 60 > r.threshold, false),
           case when w.id is null then 'no runnable job is waiting'
                else format('the oldest runnable job of %s has waited %s %s', w.model_id,
                            private.alert_format_value('minutes', round((extract(epoch from now() - w.run_at) / 60)::numeric, 1)),
                            v_threshold) end,
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

  when 'jobs_stuck' then
    -- Running longer than the window: still heartbeating on a call that will not end, or not
    -- heartbeating with no reaper to act (a dead worker's job is normally reaped within about
    -- two minutes, long before this).
    return query
    select ''::text, count(*)::numeric, count(*) > r.threshold,
           format('%s running for more than %s min %s', private.alert_format_value('jobs', count(*)), r.window_minutes, v_threshold),
           jsonb_build_object(
             'job_ids', coalesce(to_jsonb((array_agg(j.id order by j.attempted_at))[1:20]), '[]'::jsonb),
             'model_ids', coalesce(to_jsonb(array_agg(distinct j.model_id)), '[]'::jsonb),
             'lease_expired', count(*) filter (where j.lease_expires_at < now()),
             'longest_running_minutes', round((extract(epoch from now() - min(j.attempted_at)) / 60)::numeric, 1))
      from public.jobs j
     where j.status = 'running' and j.attempted_at < now() - make_interval(mins => r.window_minutes);

  when 'jobs_rescued' then
    return query
    select ''::text, count(distinct e.job_id)::numeric, count(distinct e.job_id) > r.threshold,
           format('%s rescued by the reaper %s %s', private.alert_format_value('jobs', count(distinct e.job_id)), v_over, v_threshold),
           jsonb_build_object(
             'job_ids', coalesce(to_jsonb((array_agg(distinct e.job_id))[1:20]), '[]'::jsonb),
             'model_ids', coalesce(to_jsonb(array_agg(distinct e.model_id)), '[]'::jsonb),
             'requeued', count(*) filter (where e.to_status = 'queued'),
             'failed', count(*) filter (where e.to_status = 'failed'))
      from public.job_events e
     where e.actor_role = 'reaper' and e.at >= now() - make_interval(mins => r.window_minutes);

  when 'circuit_open' then
    -- Open since the first failed call after the model's last success: the circuit cycles
    -- open, half-open, open while its probes fail, and closes only on a success, so opened_at
    -- alone would restart with every failed probe. Only models whose circuit is not closed
    -- look at their calls, and only at those since the last success (at most a day).
    return query
    select m.id, v.minutes, coalesce(v.minutes > r.threshold, false),
           case when v.minutes is null then 'circuit closed'
                else format('circuit %s for %s %s', replace(h.circuit_state, '_', '-'),
                            private.alert_format_value('minutes', v.minutes), v_threshold) end,
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

  when 'rate_limited_share', 'latency_p95' then
    return query
    with c as (
      select m.id, coalesce(cc.calls, 0) as calls, coalesce(cc.rate_limited, 0) as rate_limited,
             case when r.id = 'rate_limited_share' then round(100.0 * cc.rate_limited / nullif(cc.calls, 0), 2)
                  else private.histogram_percentile(cc.latency_hist, 0.95)::numeric end as v
        from public.models m
        left join private.alert_call_counts(v_from, p_mark, p_calls, r.id = 'latency_p95') cc on cc.model_id = m.id
    )
    select c.id, c.v, c.calls >= r.min_count and c.v > r.threshold,
           case when c.calls = 0 then format('no Gemini calls %s', v_over)
                when r.id = 'rate_limited_share'
                  then format('%s of %s calls answered 429 %s %s', private.alert_format_value('percent', c.v), c.calls, v_over, v_threshold)
                else format('p95 %s over %s calls %s %s', private.alert_format_value('ms', c.v), c.calls, v_over, v_threshold) end,
           jsonb_build_object('model_id', c.id, 'calls', c.calls, 'rate_limited', c.rate_limited)
      from c;

  when 'spend_per_hour' then
    return query
    select ''::text, round(coalesce(sum(cc.cost_usd), 0), 2), coalesce(sum(cc.cost_usd), 0) > r.threshold,
           format('%s spent on Gemini calls %s %s', private.alert_format_value('usd', coalesce(sum(cc.cost_usd), 0)), v_over, v_threshold),
           jsonb_build_object('by_model', coalesce(jsonb_object_agg(cc.model_id, round(cc.cost_usd, 2)) filter (where cc.model_id is not null), '{}'::jsonb),
                              'calls', coalesce(sum(cc.calls), 0))
      from private.alert_call_counts(v_from, p_mark, p_calls, false) cc;

  when 'calls_per_job' then
    -- Billed (ok) calls: a retried failure is not billed, a job run twice is. Normally one per
    -- succeeded job; several workers running the same job is what multiplies it.
    -- Materialized: the two counts are used several times below, and an inlined CTE would
    -- run each scalar subquery once per use.
    return query
    with c as materialized (
      select (select coalesce(sum(cc.ok), 0) from private.alert_call_counts(v_from, p_mark, p_calls, false) cc) as billed,
             (select coalesce(sum(jc.succeeded), 0) from private.alert_job_counts(v_from, p_mark, p_jobs) jc) as succeeded
    )
    select ''::text, round(c.billed::numeric / nullif(c.succeeded, 0), 2),
           c.succeeded >= r.min_count and c.billed::numeric / nullif(c.succeeded, 0) > r.threshold,
           case when c.succeeded = 0 then format('no succeeded jobs %s', v_over)
                else format('%s billed calls per succeeded job (%s calls, %s jobs) %s %s',
                            private.alert_format_value('ratio', round(c.billed::numeric / c.succeeded, 2)), c.billed, c.succeeded,
                            v_over, v_threshold) end,
           jsonb_build_object('billed_calls', c.billed, 'succeeded', c.succeeded)
      from c;

  when 'no_worker' then
    -- Runnable: queued, run_at passed, on a model that is enabled, not paused, with a closed
    -- circuit and no Retry-After in force (jobs a worker would claim now). Quiet while any
    -- job runs or was claimed within the threshold's minutes.
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
                            private.alert_format_value('minutes', v.minutes), v_threshold) end,
           case when v.job_id is null then '{}'::jsonb
                else jsonb_build_object('job_ids', jsonb_build_array(v.job_id), 'model_ids', to_jsonb(v.model_ids)) end
      from v;
  end case;
end;
$$;

-- Each rule's statement is planned once per session, not on every evaluation: PL/pgSQL would
-- otherwise re-plan it with each call's values, and planning these statements (inlined count
-- functions, CTEs, the recent rows' recordsets) costs more than running them. One plan fits
-- every call: the window's bounds only select ranges of rollup rows by primary key.
alter function private.alert_rule_values(public.alert_rules, timestamptz, jsonb, jsonb) set plan_cache_mode = force_generic_plan;

-- evaluate_alerts() returns jsonb   (service_role; pg_cron or the local scheduler, every minute)
-- Returns {"opened", "kept", "cleared", "resolved", "queued", "duration_ms"}, or {"skipped"}
-- when another evaluation is running.
create function public.evaluate_alerts() returns jsonb
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
  v_now_value jsonb;
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
        v_values := v_values || jsonb_build_object(v_row.subject,
          jsonb_build_object('value', v_row.value, 'summary', v_row.summary, 'detail', v_row.detail));
        continue when not coalesce(v_row.firing, false);
        v_firing := v_firing || v_row.subject;
        select * into v_incident from public.alert_incidents i
         where i.rule_id = v_rule.id and i.subject = v_row.subject and i.status = 'open'
           for update;
        if found then
          update public.alert_incidents
             set value = v_row.value, peak_value = greatest(peak_value, v_row.value), summary = v_row.summary,
                 detail = v_row.detail, last_fired_at = now(), clear_since = null, updated_at = now()
           where id = v_incident.id;
          insert into public.alert_incident_events (incident_id, kind, value, actor_role)
          values (v_incident.id, case when v_incident.clear_since is null then 'value' else 'firing_again' end,
                  v_row.value, 'evaluator');
          v_kept := v_kept + 1;
        else
          insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, value,
                                              peak_value, detail, notify)
          values (v_rule.id, v_row.subject, v_rule.severity,
                  v_rule.name || case when v_row.subject <> '' then ': ' || v_row.subject else '' end,
                  v_row.summary, v_rule.unit, v_rule.threshold, v_row.value, v_row.value, v_row.detail,
                  not coalesce(v_rule.silenced_until > now(), false))
          returning * into v_incident;
          insert into public.alert_incident_events (incident_id, kind, value, actor_role, note)
          values (v_incident.id, 'opened', v_row.value, 'evaluator',
                  case when not v_incident.notify then 'the rule is silenced: nothing is sent outward' end);
          if v_incident.notify then
            v_queued := v_queued + private.enqueue_alert_deliveries(v_incident, 'opened');
          end if;
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
      v_now_value := v_values -> v_incident.subject;
      if v_incident.clear_since is null then
        insert into public.alert_incident_events (incident_id, kind, value, actor_role)
        values (v_incident.id, 'cleared', (v_now_value ->> 'value')::numeric, 'evaluator');
        v_cleared := v_cleared + 1;
      end if;
      if now() - coalesce(v_incident.clear_since, now()) >= make_interval(mins => v_rule.hold_down_minutes) then
        update public.alert_incidents
           set status = 'resolved', resolved_at = now(), clear_since = coalesce(clear_since, now()),
               value = (v_now_value ->> 'value')::numeric, summary = coalesce(v_now_value ->> 'summary', summary),
               updated_at = now()
         where id = v_incident.id
        returning * into v_incident;
        insert into public.alert_incident_events (incident_id, kind, value, actor_role)
        values (v_incident.id, 'resolved', v_incident.value, 'evaluator');
        v_queued := v_queued + private.enqueue_alert_deliveries(v_incident, 'resolved');
        v_resolved := v_resolved + 1;
      else
        update public.alert_incidents
           set clear_since = coalesce(clear_since, now()), value = (v_now_value ->> 'value')::numeric,
               summary = coalesce(v_now_value ->> 'summary', summary), updated_at = now()
         where id = v_incident.id;
        if v_incident.clear_since is not null then
          insert into public.alert_incident_events (incident_id, kind, value, actor_role)
          values (v_incident.id, 'value', (v_now_value ->> 'value')::numeric, 'evaluator');
        end if;
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
revoke all on function public.evaluate_alerts() from public, anon, authenticated;
grant execute on function public.evaluate_alerts() to service_role;
revoke all on all functions in schema private from public;
