-- Incidents: one row from the evaluation where a rule starts firing until its condition has been
-- clear for the rule's hold-down, however many minutes it keeps firing in between. Its timeline
-- (alert_incident_events) records every evaluation's value while it is open, when it cleared or
-- fired again, when it resolved, and what staff did about it (acknowledged, notes). Only
-- evaluate_alerts opens, keeps and resolves incidents; admins acknowledge and add notes through
-- the functions below, each audited. Support and admin read; end users see nothing.
--
-- Live in the console: every change of an incident is broadcast on the private topic
-- 'admin:alerts' (event 'incident_changed', the incident's summary as payload), which only
-- support and admin may join and nobody may send on. The banner on every admin page and the
-- Incidents page patch themselves from it.
create table public.alert_incidents (
  id bigint generated always as identity primary key,
  rule_id text not null references public.alert_rules (id),
  -- The model a per-model rule fired for; '' for a rule about the whole pipeline.
  subject text not null default '',
  status text not null default 'open' check (status in ('open', 'resolved')),
  -- Copied from the rule when the incident opened: a later edit of the rule does not rewrite history.
  severity text not null check (severity in ('critical', 'warning')),
  title text not null,
  summary text not null,
  unit text not null,
  threshold numeric not null,
  -- The latest evaluation's value (null when it had none, e.g. no finished jobs), and the worst seen.
  value numeric,
  peak_value numeric,
  -- The latest evidence: counts, and the jobs and models involved (the console links them).
  detail jsonb not null default '{}'::jsonb,
  -- False when the rule was silenced as the incident opened: nothing is sent outward for it.
  notify boolean not null default true,
  opened_at timestamptz not null default now(),
  last_fired_at timestamptz not null default now(),
  -- Set by the first evaluation that found the condition clear; reset when it fires again.
  clear_since timestamptz,
  resolved_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid,
  updated_at timestamptz not null default now(),
  constraint alert_incidents_resolved_at check ((status = 'resolved') = (resolved_at is not null))
);
-- At most one open incident per rule and subject: the evaluation's "keep it" lookup, and the
-- guard that two evaluations can never open the same incident twice.
create unique index alert_incidents_one_open on public.alert_incidents (rule_id, subject) where status = 'open';
create index alert_incidents_opened_idx on public.alert_incidents (opened_at desc);

create table public.alert_incident_events (
  id bigint generated always as identity,
  incident_id bigint not null references public.alert_incidents (id),
  at timestamptz not null default now(),
  -- opened | value (an evaluation while open) | cleared | firing_again | resolved | acknowledged | note
  kind text not null check (kind in ('opened', 'value', 'cleared', 'firing_again', 'resolved', 'acknowledged', 'note')),
  value numeric,
  actor_id uuid,
  -- 'evaluator' for the evaluation, else the staff member's role.
  actor_role text not null,
  note text,
  primary key (incident_id, id)
);

create trigger alert_incident_events_append_only before update or delete on public.alert_incident_events
  for each row execute function private.forbid_change();
create trigger alert_incident_events_no_truncate before truncate on public.alert_incident_events
  for each statement execute function private.forbid_change();

alter table public.alert_incidents enable row level security;
alter table public.alert_incident_events enable row level security;
revoke all on public.alert_incidents, public.alert_incident_events from anon, authenticated, service_role;
grant select on public.alert_incidents, public.alert_incident_events to authenticated, service_role;
create policy alert_incidents_read on public.alert_incidents for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy alert_incident_events_read on public.alert_incident_events for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- The broadcast: one message per changed incident, set-based per statement. As with the jobs
-- broadcast, a failed broadcast only warns: it never fails the evaluation that caused it.
create function private.alert_incidents_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'admin:alerts', 'broadcast', 'incident_changed', true, jsonb_build_object(
             'id', i.id, 'rule_id', i.rule_id, 'subject', i.subject, 'status', i.status, 'severity', i.severity,
             'title', i.title, 'summary', i.summary, 'unit', i.unit, 'threshold', i.threshold, 'value', i.value,
             'notify', i.notify, 'opened_at', i.opened_at, 'clear_since', i.clear_since,
             'resolved_at', i.resolved_at, 'acknowledged_at', i.acknowledged_at, 'updated_at', i.updated_at)
      from changed i;
  exception when others then
    raise warning 'incident broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;
create trigger alert_incidents_broadcast_on_insert after insert on public.alert_incidents
  referencing new table as changed
  for each statement execute function private.alert_incidents_broadcast();
create trigger alert_incidents_broadcast_on_update after update on public.alert_incidents
  referencing new table as changed
  for each statement execute function private.alert_incidents_broadcast();

create policy admin_alerts_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() = 'admin:alerts' and (select public.app_role()) in ('support', 'admin'));

-- acknowledge_alert_incident(p_incident_id bigint, p_reason text) returns public.alert_incidents
--   (admin)
-- "Someone is on it": records who and when, adds it to the timeline and the audit log. Safe to
-- call twice: an incident already acknowledged is returned unchanged, and nothing is written.
-- Errors: 42501 not admin; 22023 reason, or the incident is resolved; PT404 no such incident.
create function public.acknowledge_alert_incident(p_incident_id bigint, p_reason text)
returns public.alert_incidents
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'acknowledge_alert_incident');
  v_reason text := private.check_reason(p_reason);
  v_incident public.alert_incidents;
begin
  select * into v_incident from public.alert_incidents where id = p_incident_id for update;
  if not found then
    raise exception 'incident not found' using errcode = 'PT404';
  end if;
  if v_incident.acknowledged_at is not null then
    return v_incident;
  end if;
  if v_incident.status = 'resolved' then
    raise exception 'incident % is resolved: there is nothing to acknowledge', p_incident_id using errcode = '22023';
  end if;
  update public.alert_incidents
     set acknowledged_at = now(), acknowledged_by = auth.uid(), updated_at = now()
   where id = p_incident_id
  returning * into v_incident;
  insert into public.alert_incident_events (incident_id, kind, actor_id, actor_role, note)
  values (p_incident_id, 'acknowledged', auth.uid(), v_role, v_reason);
  perform private.write_audit('acknowledge_incident', '{}', v_reason, null, null, 0, null,
    jsonb_build_object('incident_id', p_incident_id, 'rule_id', v_incident.rule_id, 'subject', v_incident.subject));
  return v_incident;
end;
$$;

-- add_alert_incident_note(p_incident_id bigint, p_note text) returns public.alert_incidents
--   (admin)
-- Adds a note (1-500 characters) to the incident's timeline, open or resolved, and to the
-- audit log. Errors: 42501 not admin; 22023 note missing or too long; PT404 no such incident.
create function public.add_alert_incident_note(p_incident_id bigint, p_note text)
returns public.alert_incidents
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'add_alert_incident_note');
  v_note text := private.check_reason(p_note);
  v_incident public.alert_incidents;
begin
  -- Touching updated_at broadcasts the incident, so an open Incidents page shows the note.
  update public.alert_incidents set updated_at = now() where id = p_incident_id returning * into v_incident;
  if not found then
    raise exception 'incident not found' using errcode = 'PT404';
  end if;
  insert into public.alert_incident_events (incident_id, kind, actor_id, actor_role, note)
  values (p_incident_id, 'note', auth.uid(), v_role, v_note);
  perform private.write_audit('note_incident', '{}', v_note, null, null, 0, null,
    jsonb_build_object('incident_id', p_incident_id, 'rule_id', v_incident.rule_id, 'subject', v_incident.subject));
  return v_incident;
end;
$$;

revoke all on function public.acknowledge_alert_incident(bigint, text) from public, anon, service_role;
revoke all on function public.add_alert_incident_note(bigint, text) from public, anon, service_role;
grant execute on function public.acknowledge_alert_incident(bigint, text) to authenticated;
grant execute on function public.add_alert_incident_note(bigint, text) to authenticated;
revoke all on all functions in schema private from public;
