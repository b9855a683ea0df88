-- An alert value is written in words once, by private.alert_format_value (23.8%, 6.5 min, 3 jobs,
-- 61.2 s, $52.10, 2.4×), which the evaluation's summaries and messages already use. The console
-- reads the same words from the rows instead of formatting the numbers again: a rule's threshold,
-- an incident's value, peak and threshold are generated columns, and an incident event's value is
-- worded in the incident's unit when the event is written. The numbers stay beside them for
-- charts and comparisons.

set local lock_timeout = '5s';

-- A generated column rewrites its table under an exclusive lock: these hold one row per rule and
-- one per incident (a handful a day), so the rewrite takes milliseconds.
alter table public.alert_rules
  -- squawk-ignore adding-field-with-default
  add column threshold_text text not null generated always as (private.alert_format_value(unit, threshold)) stored;

alter table public.alert_incidents
  -- squawk-ignore adding-field-with-default
  add column threshold_text text not null generated always as (private.alert_format_value(unit, threshold)) stored,
  -- squawk-ignore adding-field-with-default
  add column value_text text not null generated always as (private.alert_format_value(unit, value)) stored,
  -- squawk-ignore adding-field-with-default
  add column peak_value_text text not null generated always as (private.alert_format_value(unit, peak_value)) stored;

-- An event's unit is its incident's, so the words cannot be a generated column: the insert
-- trigger writes them, for the events an evaluation writes ('no data' when it measured nothing);
-- a staff member's acknowledgement or note has no value and keeps null.
alter table public.alert_incident_events add column value_text text;

create function private.alert_incident_event_value_text() returns trigger
language plpgsql
as $$
begin
  if new.kind not in ('acknowledged', 'note') then
    select private.alert_format_value(i.unit, new.value) into new.value_text
      from public.alert_incidents i
     where i.id = new.incident_id;
  end if;
  return new;
end;
$$;
create trigger alert_incident_events_value_text before insert on public.alert_incident_events
  for each row execute function private.alert_incident_event_value_text();

-- The events written before this migration: the timeline is append-only, so its guard steps
-- aside for this one statement.
alter table public.alert_incident_events disable trigger alert_incident_events_no_update;
update public.alert_incident_events e
   set value_text = private.alert_format_value(i.unit, e.value)
  from public.alert_incidents i
 where i.id = e.incident_id and e.kind not in ('acknowledged', 'note');
alter table public.alert_incident_events enable trigger alert_incident_events_no_update;

-- The incident as the console reads it over REST, words included.
create or replace function private.alert_incidents_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'admin:alerts', 'broadcast', 'incident_changed', true, jsonb_build_object(
             'id', i.id, 'rule_id', i.rule_id, 'subject', i.subject, 'status', i.status, 'severity', i.severity,
             'title', i.title, 'summary', i.summary, 'unit', i.unit, 'threshold', i.threshold, 'value', i.value,
             'threshold_text', i.threshold_text, 'value_text', i.value_text,
             'notify', i.notify, 'opened_at', i.opened_at, 'clear_since', i.clear_since,
             'resolved_at', i.resolved_at, 'acknowledged_at', i.acknowledged_at, 'updated_at', i.updated_at)
      from changed i;
  exception when others then
    raise warning 'incident broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;
