-- Clear errors for the alerting inputs that still answered with the database's own words.
-- Redefines (create or replace) three functions of the released migrations
-- 20261206100200_alert_incidents and 20261206100300_alert_channels, and check_reason of
-- 20261123000100_app_roles, which are read from here now:
--
--   * create_alert_channel and update_alert_channel: a name another channel has (names are
--     unique regardless of case, alert_channels_name_idx) answered 'duplicate key value violates
--     unique constraint "alert_channels_name_idx"'. Now: 'a channel named "ops" already exists;
--     choose another name', still SQLSTATE 23505 (HTTP 409 through PostgREST). The insert's or
--     update's own unique violation is what is caught, so two admins saving the same name at
--     once get the same message, and nothing is written.
--   * add_alert_incident_note: a note went through the reasons' check and was refused as
--     "reason is too long". The check now names what it checks (private.check_staff_text):
--     "note is too long: 601 characters, the limit is 500", "a note is required".
--
-- The other alerting inputs (rules, silences, acknowledgements, URLs, secrets, severities,
-- names' length) already answered in words; the channel ones are held by alert-channels.test.ts.

-- Only functions are replaced here (and, on hosted, a pg_cron job): nothing should wait for a
-- lock, and if something holds one, the deploy fails after 5 s rather than stall.
set local lock_timeout = '5s';

-- check_staff_text(p_text text, p_what text) returns text: the text staff typed for the audit
-- log (a reason, a note), trimmed; 22023 when empty or over 500 characters, naming p_what.
-- check_reason is this for reasons (redefined here to say so once).
create function private.check_staff_text(p_text text, p_what text) returns text
language plpgsql immutable
as $$
declare
  v text := btrim(coalesce(p_text, ''));
begin
  if v = '' then
    raise exception 'a % is required', p_what using errcode = '22023';
  end if;
  if length(v) > 500 then
    raise exception '% is too long: % characters, the limit is 500', p_what, length(v) using errcode = '22023';
  end if;
  return v;
end;
$$;

create or replace function private.check_reason(p_reason text) returns text
language sql immutable
as $$ select private.check_staff_text(p_reason, 'reason') $$;

-- raise_alert_channel_name_taken(p_name text): the one message for a channel name in use.
create function private.raise_alert_channel_name_taken(p_name text) returns void
language plpgsql
as $$
begin
  raise exception 'a channel named "%" already exists; choose another name', btrim(p_name) using errcode = '23505';
end;
$$;

-- create_alert_channel(p_name text, p_kind text, p_url text, p_reason text,
--   p_signing_secret text default null, p_min_severity text default 'warning')
--   returns public.alert_channels   (admin)
-- A 'webhook' channel needs a signing secret (32-200 characters); a 'slack' one takes none.
-- Returns the row, which holds hints only. Audited (without the secrets).
-- Errors: 42501 not admin; 22023 name, kind, URL, secret, severity or reason; 23505 another
-- channel has that name (names are unique regardless of case): 'a channel named "ops" already
-- exists; choose another name'.
create or replace function public.create_alert_channel(
  p_name text, p_kind text, p_url text, p_reason text, p_signing_secret text default null,
  p_min_severity text default 'warning'
) returns public.alert_channels
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'create_alert_channel');
  v_reason text := private.check_reason(p_reason);
  v_url text := private.check_alert_url(p_url);
  v_channel public.alert_channels;
begin
  if p_kind is null or p_kind not in ('slack', 'webhook') then
    raise exception 'kind must be slack or webhook' using errcode = '22023';
  end if;
  if p_name is null or length(btrim(p_name)) not between 1 and 100 then
    raise exception 'a name of 1 to 100 characters is required' using errcode = '22023';
  end if;
  if p_min_severity is null or p_min_severity not in ('warning', 'critical') then
    raise exception 'minimum severity must be warning or critical' using errcode = '22023';
  end if;
  if p_kind = 'webhook' then
    perform private.check_signing_secret(p_signing_secret);
  elsif p_signing_secret is not null then
    raise exception 'a Slack channel takes no signing secret: Slack does not check one' using errcode = '22023';
  end if;
  begin
    insert into public.alert_channels (name, kind, min_severity, url_hint, secret_hint, created_by)
    values (btrim(p_name), p_kind, p_min_severity, private.alert_url_hint(v_url),
            case when p_kind = 'webhook' then '…' || right(p_signing_secret, 4) end, auth.uid())
    returning * into v_channel;
  exception when unique_violation then
    perform private.raise_alert_channel_name_taken(p_name);
  end;
  perform private.put_alert_secret(v_channel.id, 'url', v_url);
  if p_kind = 'webhook' then
    perform private.put_alert_secret(v_channel.id, 'signing_secret', p_signing_secret);
  end if;
  perform private.write_audit('create_alert_channel', '{}', v_reason, null,
    jsonb_build_object('name', v_channel.name, 'kind', v_channel.kind, 'url', v_channel.url_hint,
                       'min_severity', v_channel.min_severity), 0, null, jsonb_build_object('channel_id', v_channel.id));
  return v_channel;
end;
$$;

-- update_alert_channel(p_channel_id uuid, p_reason text, p_name text default null,
--   p_enabled boolean default null, p_min_severity text default null, p_url text default null,
--   p_signing_secret text default null) returns public.alert_channels   (admin)
-- Changes what is given (null keeps it); a new URL or secret replaces the stored one, which is
-- never shown. Audited with hints only. Errors as create_alert_channel; PT404 no such channel.
create or replace function public.update_alert_channel(
  p_channel_id uuid, p_reason text, p_name text default null, p_enabled boolean default null,
  p_min_severity text default null, p_url text default null, p_signing_secret text default null
) returns public.alert_channels
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'update_alert_channel');
  v_reason text := private.check_reason(p_reason);
  v_url text := case when p_url is null then null else private.check_alert_url(p_url) end;
  v_before public.alert_channels;
  v_after public.alert_channels;
begin
  select * into v_before from public.alert_channels where id = p_channel_id and deleted_at is null for update;
  if not found then
    raise exception 'alert channel not found' using errcode = 'PT404';
  end if;
  if p_name is not null and length(btrim(p_name)) not between 1 and 100 then
    raise exception 'a name of 1 to 100 characters is required' using errcode = '22023';
  end if;
  if p_min_severity is not null and p_min_severity not in ('warning', 'critical') then
    raise exception 'minimum severity must be warning or critical' using errcode = '22023';
  end if;
  if p_signing_secret is not null then
    if v_before.kind <> 'webhook' then
      raise exception 'a Slack channel takes no signing secret: Slack does not check one' using errcode = '22023';
    end if;
    perform private.check_signing_secret(p_signing_secret);
  end if;
  begin
    update public.alert_channels
       set name = coalesce(btrim(p_name), name), enabled = coalesce(p_enabled, enabled),
           min_severity = coalesce(p_min_severity, min_severity),
           url_hint = coalesce(private.alert_url_hint(v_url), url_hint),
           secret_hint = coalesce('…' || right(p_signing_secret, 4), secret_hint), updated_at = now()
     where id = p_channel_id
    returning * into v_after;
  exception when unique_violation then
    perform private.raise_alert_channel_name_taken(p_name);
  end;
  if v_url is not null then
    perform private.put_alert_secret(p_channel_id, 'url', v_url);
  end if;
  if p_signing_secret is not null then
    perform private.put_alert_secret(p_channel_id, 'signing_secret', p_signing_secret);
  end if;
  perform private.write_audit('update_alert_channel', '{}', v_reason,
    jsonb_build_object('name', v_before.name, 'enabled', v_before.enabled, 'min_severity', v_before.min_severity,
                       'url', v_before.url_hint, 'secret', v_before.secret_hint),
    jsonb_build_object('name', v_after.name, 'enabled', v_after.enabled, 'min_severity', v_after.min_severity,
                       'url', v_after.url_hint, 'secret', v_after.secret_hint),
    0, null, jsonb_build_object('channel_id', p_channel_id));
  return v_after;
end;
$$;

-- add_alert_incident_note(p_incident_id bigint, p_note text) returns public.alert_incidents
--   (admin)
-- Adds a note (1-500 characters) to the incident's timeline, open or resolved, and to the
-- audit log. Errors: 42501 not admin; 22023 'a note is required' or 'note is too long: 601
-- characters, the limit is 500'; PT404 no such incident.
create or replace function public.add_alert_incident_note(p_incident_id bigint, p_note text)
returns public.alert_incidents
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'add_alert_incident_note');
  v_note text := private.check_staff_text(p_note, 'note');
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

revoke all on all functions in schema private from public;
