-- Alert rules: what the pipeline watches in itself, so trouble finds the people who can fix it
-- instead of waiting for someone to look at System Health. One row per kind of trouble, seeded
-- with defaults that would have caught the incidents this product exists to prevent (the
-- post-mortems' own thresholds where they gave one: stuck over 5 minutes, failure rate over
-- 10%). Admins tune a rule (enabled, severity, threshold, window, minimum count, hold-down) and
-- silence it for a while; support reads. Every change is audited. evaluate_alerts reads these
-- rows every minute; docs/alerts.md says what each one catches and why its threshold.
--
-- A rule fires when its value is above its threshold. What the value is, and what the window
-- and the minimum count mean for it, is the rule's own (private.alert_rule_values):
--   failure_rate         % of finished jobs that failed over the window (min_count: finished jobs)
--   model_failure_rate   the same per model
--   queue_stalled        minutes the oldest runnable job of an unpaused model has waited
--   jobs_stuck           jobs running for longer than window_minutes
--   jobs_rescued         jobs the reaper had to requeue or fail over the window
--   circuit_open         minutes a model's circuit has not been closed
--   rate_limited_share   % of a model's calls answered 429 over the window (min_count: calls)
--   latency_p95          a model's p95 Gemini call time in ms over the window (min_count: calls)
--   spend_per_hour       USD spent on Gemini calls over the window
--   calls_per_job        billed Gemini calls per succeeded job over the window (min_count: jobs)
--   no_worker            minutes runnable jobs have waited while no job ran or was claimed
create table public.alert_rules (
  id text primary key check (id in ('failure_rate', 'model_failure_rate', 'queue_stalled', 'jobs_stuck',
    'jobs_rescued', 'circuit_open', 'rate_limited_share', 'latency_p95', 'spend_per_hour', 'calls_per_job',
    'no_worker')),
  name text not null,
  description text not null,
  -- 'model': one incident per model (the subject); 'global': one for the whole pipeline.
  scope text not null check (scope in ('global', 'model')),
  unit text not null check (unit in ('percent', 'minutes', 'jobs', 'ms', 'usd', 'ratio')),
  enabled boolean not null default true,
  severity text not null check (severity in ('critical', 'warning')),
  threshold numeric not null check (threshold >= 0 and threshold <= 1000000000),
  -- Null where the rule has no such parameter; a rule that has one always has a value.
  window_minutes integer check (window_minutes between 1 and 1440),
  min_count integer check (min_count between 0 and 1000000),
  -- An incident resolves once its condition has been clear this long: a value hovering around
  -- the threshold is one incident, not one per crossing.
  hold_down_minutes integer not null default 5 check (hold_down_minutes between 0 and 1440),
  silenced_until timestamptz,
  silence_reason text,
  updated_at timestamptz not null default now(),
  updated_by uuid
);

insert into public.alert_rules (id, name, description, scope, unit, severity, threshold, window_minutes, min_count)
values
  ('failure_rate', 'Job failure rate',
   'Share of finished jobs that failed, all models together.',
   'global', 'percent', 'critical', 10, 5, 20),
  ('model_failure_rate', 'Job failure rate of a model',
   'Share of a model''s finished jobs that failed.',
   'model', 'percent', 'critical', 10, 5, 20),
  ('queue_stalled', 'Queue not moving',
   'How long the oldest runnable job of a model that is not paused has waited.',
   'global', 'minutes', 'critical', 5, null, null),
  ('jobs_stuck', 'Jobs stuck running',
   'Jobs still running long after they should have finished, or no longer heartbeating, before the reaper acts.',
   'global', 'jobs', 'critical', 0, 5, null),
  ('jobs_rescued', 'Jobs rescued by the reaper',
   'Jobs whose worker stopped heartbeating, requeued or failed by the reaper.',
   'global', 'jobs', 'warning', 2, 15, null),
  ('circuit_open', 'Model circuit open',
   'How long a model''s circuit breaker has stayed open (no successful call since its calls began failing).',
   'model', 'minutes', 'critical', 1, null, null),
  ('rate_limited_share', 'Rate limited by Gemini',
   'Share of a model''s Gemini calls answered 429.',
   'model', 'percent', 'warning', 20, 5, 20),
  ('latency_p95', 'Gemini latency p95',
   'The 95th percentile of a model''s Gemini call time.',
   'model', 'ms', 'warning', 60000, 10, 10),
  ('spend_per_hour', 'Gemini spend per hour',
   'What the Gemini calls of the window cost, all models together.',
   'global', 'usd', 'warning', 50, 60, null),
  ('calls_per_job', 'Gemini calls per succeeded job',
   'Billed Gemini calls per succeeded job: more than one means jobs are being run twice.',
   'global', 'ratio', 'critical', 1.5, 15, 20),
  ('no_worker', 'No active worker',
   'Runnable jobs wait while no job is running and none was claimed.',
   'global', 'minutes', 'critical', 2, null, null);

alter table public.alert_rules enable row level security;
revoke all on public.alert_rules from anon, authenticated, service_role;
grant select on public.alert_rules to authenticated, service_role;
create policy alert_rules_read on public.alert_rules for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- The parameters an admin can change, as the audit row records them.
create function private.alert_rule_settings(r public.alert_rules) returns jsonb
language sql immutable
as $$
  select jsonb_build_object('enabled', r.enabled, 'severity', r.severity, 'threshold', r.threshold,
    'window_minutes', r.window_minutes, 'min_count', r.min_count, 'hold_down_minutes', r.hold_down_minutes)
$$;

-- update_alert_rule(p_rule_id text, p_reason text, p_enabled boolean default null,
--   p_severity text default null, p_threshold numeric default null,
--   p_window_minutes integer default null, p_min_count integer default null,
--   p_hold_down_minutes integer default null) returns public.alert_rules   (admin)
-- Changes the given parameters (null leaves one as it is) and writes one audit row with the
-- rule before and after. A rule without a window or a minimum count refuses one.
-- Errors: 42501 not admin; 22023 reason, a value out of range, a parameter the rule does not
-- have; PT404 no such rule.
create function public.update_alert_rule(
  p_rule_id text, p_reason text, p_enabled boolean default null, p_severity text default null,
  p_threshold numeric default null, p_window_minutes integer default null, p_min_count integer default null,
  p_hold_down_minutes integer default null
) returns public.alert_rules
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'update_alert_rule');
  v_reason text := private.check_reason(p_reason);
  v_before public.alert_rules;
  v_after public.alert_rules;
begin
  select * into v_before from public.alert_rules where id = p_rule_id for update;
  if not found then
    raise exception 'alert rule not found' using errcode = 'PT404';
  end if;
  if p_severity is not null and p_severity not in ('critical', 'warning') then
    raise exception 'severity must be critical or warning' using errcode = '22023';
  end if;
  if p_threshold is not null and (p_threshold < 0 or p_threshold > 1000000000) then
    raise exception 'threshold must be between 0 and 1000000000' using errcode = '22023';
  end if;
  if p_window_minutes is not null then
    if v_before.window_minutes is null then
      raise exception 'rule "%" has no window', p_rule_id using errcode = '22023';
    end if;
    if p_window_minutes < 1 or p_window_minutes > 1440 then
      raise exception 'window must be between 1 and 1440 minutes' using errcode = '22023';
    end if;
  end if;
  if p_min_count is not null then
    if v_before.min_count is null then
      raise exception 'rule "%" has no minimum count', p_rule_id using errcode = '22023';
    end if;
    if p_min_count < 0 or p_min_count > 1000000 then
      raise exception 'minimum count must be between 0 and 1000000' using errcode = '22023';
    end if;
  end if;
  if p_hold_down_minutes is not null and (p_hold_down_minutes < 0 or p_hold_down_minutes > 1440) then
    raise exception 'hold-down must be between 0 and 1440 minutes' using errcode = '22023';
  end if;

  update public.alert_rules
     set enabled = coalesce(p_enabled, enabled), severity = coalesce(p_severity, severity),
         threshold = coalesce(p_threshold, threshold), window_minutes = coalesce(p_window_minutes, window_minutes),
         min_count = coalesce(p_min_count, min_count), hold_down_minutes = coalesce(p_hold_down_minutes, hold_down_minutes),
         updated_at = now(), updated_by = auth.uid()
   where id = p_rule_id
  returning * into v_after;
  perform private.write_audit('update_alert_rule', '{}', v_reason,
    private.alert_rule_settings(v_before), private.alert_rule_settings(v_after), 0, null,
    jsonb_build_object('rule_id', p_rule_id));
  return v_after;
end;
$$;

-- silence_alert_rule(p_rule_id text, p_minutes integer, p_reason text) returns public.alert_rules
--   (admin)
-- Mutes the rule's outward messages for p_minutes (1 minute to 7 days); 0 lifts a silence.
-- While silenced the rule is still evaluated and its incidents still open and resolve in the
-- console, but an incident that opens then sends nothing outward (docs/alerts.md). Audited.
-- Errors: 42501 not admin; 22023 reason or minutes out of range; PT404 no such rule.
create function public.silence_alert_rule(p_rule_id text, p_minutes integer, p_reason text)
returns public.alert_rules
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'silence_alert_rule');
  v_reason text := private.check_reason(p_reason);
  v_before public.alert_rules;
  v_after public.alert_rules;
begin
  if p_minutes is null or p_minutes < 0 or p_minutes > 10080 then
    raise exception 'minutes must be between 0 (lift the silence) and 10080 (7 days)' using errcode = '22023';
  end if;
  select * into v_before from public.alert_rules where id = p_rule_id for update;
  if not found then
    raise exception 'alert rule not found' using errcode = 'PT404';
  end if;
  update public.alert_rules
     set silenced_until = case when p_minutes = 0 then null else now() + make_interval(mins => p_minutes) end,
         silence_reason = case when p_minutes = 0 then null else v_reason end,
         updated_at = now(), updated_by = auth.uid()
   where id = p_rule_id
  returning * into v_after;
  perform private.write_audit(case when p_minutes = 0 then 'unsilence_alert_rule' else 'silence_alert_rule' end,
    '{}', v_reason, jsonb_build_object('silenced_until', v_before.silenced_until),
    jsonb_build_object('silenced_until', v_after.silenced_until), 0, null,
    jsonb_build_object('rule_id', p_rule_id, 'minutes', p_minutes));
  return v_after;
end;
$$;

revoke all on function public.update_alert_rule(text, text, boolean, text, numeric, integer, integer, integer) from public, anon, service_role;
revoke all on function public.silence_alert_rule(text, integer, text) from public, anon, service_role;
grant execute on function public.update_alert_rule(text, text, boolean, text, numeric, integer, integer, integer) to authenticated;
grant execute on function public.silence_alert_rule(text, integer, text) to authenticated;
revoke all on all functions in schema private from public;
