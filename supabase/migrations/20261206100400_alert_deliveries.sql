-- The outward messages: a queue of deliveries, one row per (incident, channel, event), that the
-- SQL below decides and two senders drain: pg_net on a hosted project (scheduled by
-- alert_schedules) and the local scheduler on the local platform (supabase/local/alert-delivery.ts).
-- Both call the same two functions, take_alert_deliveries and finish_alert_delivery, so what is
-- sent, to whom, how it is signed and when it is retried is decided here and nowhere else.
--
--   * Exactly once per incident and channel: one 'opened' message when the incident opens, one
--     'resolved' when it resolves (only to channels that were sent the 'opened' one). A unique
--     index makes a second row for the same (incident, channel, event) impossible.
--   * A delivery is sent with a lease (status 'sending'); a 2xx answer marks it delivered,
--     anything else schedules a retry with backoff (15 s, 30 s, 1 min, ... up to an hour, with
--     jitter) until max_attempts, after which it is failed. A sender that dies mid-send leaves
--     the lease to expire and the row is taken again.
--   * The HTTP calls happen outside any transaction of the pipeline or of the evaluation: a
--     slow or dead receiver costs its own sender a timeout, nothing else.
--   * Generic webhooks are signed at send time: header x-jobhealth-signature is
--     v1=hex(HMAC-SHA256(secret, "<x-jobhealth-timestamp>.<body>")), so a retry carries a fresh
--     timestamp and a receiver can refuse anything older than a few minutes.
-- The log (every row, its attempts, the last answer or error) is what the console shows; every
-- change of a row is broadcast on 'admin:alerts' (event 'delivery_changed').
create table public.alert_deliveries (
  id bigint generated always as identity primary key,
  channel_id uuid not null references public.alert_channels (id),
  -- Null for a test message.
  incident_id bigint references public.alert_incidents (id),
  event text not null check (event in ('opened', 'resolved', 'test')),
  status text not null default 'pending' check (status in ('pending', 'sending', 'delivered', 'failed')),
  -- What the message says, without any secret; rendered for the channel's kind when sent.
  payload jsonb not null,
  attempts integer not null default 0,
  max_attempts integer not null default 8 check (max_attempts between 1 and 20),
  next_attempt_at timestamptz not null default now(),
  lease_until timestamptz,
  last_attempt_at timestamptz,
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  -- Which sender took it last: 'pg_net' (hosted) or 'local' (the local scheduler).
  via text check (via in ('pg_net', 'local')),
  net_request_id bigint,
  requested_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index alert_deliveries_once on public.alert_deliveries (incident_id, channel_id, event)
  where incident_id is not null;
create index alert_deliveries_due_idx on public.alert_deliveries (next_attempt_at)
  where status in ('pending', 'sending');
create index alert_deliveries_created_idx on public.alert_deliveries (created_at desc);
create index alert_deliveries_incident_idx on public.alert_deliveries (incident_id) where incident_id is not null;

alter table public.alert_deliveries enable row level security;
revoke all on public.alert_deliveries from anon, authenticated, service_role;
grant select on public.alert_deliveries to authenticated, service_role;
create policy alert_deliveries_read on public.alert_deliveries for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

create function private.alert_deliveries_broadcast() returns trigger
language plpgsql
as $$
begin
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'admin:alerts', 'broadcast', 'delivery_changed', true, jsonb_build_object(
             'id', d.id, 'channel_id', d.channel_id, 'incident_id', d.incident_id, 'event', d.event,
             'status', d.status, 'attempts', d.attempts, 'last_status', d.last_status,
             'last_error', left(d.last_error, 200), 'delivered_at', d.delivered_at, 'updated_at', d.updated_at)
      from changed d;
  exception when others then
    raise warning 'delivery broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;
create trigger alert_deliveries_broadcast_on_insert after insert on public.alert_deliveries
  referencing new table as changed
  for each statement execute function private.alert_deliveries_broadcast();
create trigger alert_deliveries_broadcast_on_update after update on public.alert_deliveries
  referencing new table as changed
  for each statement execute function private.alert_deliveries_broadcast();

-- What an incident's message says, the same for every channel (rendered per kind when sent).
create function private.alert_incident_payload(i public.alert_incidents, p_event text) returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'type', 'incident.' || p_event,
    'incident', jsonb_build_object(
      'id', i.id, 'rule_id', i.rule_id, 'subject', nullif(i.subject, ''), 'title', i.title, 'severity', i.severity,
      'status', i.status, 'summary', i.summary, 'value', i.value, 'peak_value', i.peak_value, 'unit', i.unit,
      'threshold', i.threshold, 'opened_at', i.opened_at, 'resolved_at', i.resolved_at, 'detail', i.detail))
$$;

-- Queues the incident's 'opened' message for every enabled channel that takes its severity, or
-- its 'resolved' message for the channels that were sent the 'opened' one; wakes the senders.
-- Returns how many were queued (0 when they already were).
create function private.enqueue_alert_deliveries(i public.alert_incidents, p_event text) returns integer
language plpgsql
as $$
declare
  v_count integer;
begin
  insert into public.alert_deliveries (channel_id, incident_id, event, payload)
  select c.id, i.id, p_event, private.alert_incident_payload(i, p_event)
    from public.alert_channels c
   where c.deleted_at is null and c.enabled
     and (c.min_severity = 'warning' or i.severity = 'critical')
     and (p_event = 'opened' or exists (
       select 1 from public.alert_deliveries o
        where o.incident_id = i.id and o.channel_id = c.id and o.event = 'opened'))
  on conflict (incident_id, channel_id, event) where incident_id is not null do nothing;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform pg_notify('alert_delivery', '');
  end if;
  return v_count;
end;
$$;

-- Slack's mrkdwn treats &, < and > as markup.
create function private.slack_escape(p_text text) returns text
language sql immutable
as $$ select replace(replace(replace(coalesce(p_text, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;') $$;

-- The HTTP request for one delivery: the channel's URL, the headers and the exact body text.
-- For a generic webhook the body is the payload plus the delivery id and send time, and the
-- signature covers "<timestamp>.<body>" with the body exactly as sent (jsonb's canonical text,
-- which is also what pg_net sends for a jsonb body).
create function private.alert_request(
  p_delivery_id bigint, p_event text, p_payload jsonb, p_channel public.alert_channels, p_sent_at timestamptz
) returns table (url text, headers jsonb, body text)
language plpgsql stable
as $$
declare
  v_incident jsonb := p_payload -> 'incident';
  v_body jsonb;
  v_text text;
  v_timestamp text := floor(extract(epoch from p_sent_at))::bigint::text;
begin
  url := private.alert_secret(p_channel.id, 'url');
  if p_channel.kind = 'slack' then
    v_text := case p_event
      when 'opened' then format(':rotating_light: *%s* %s: %s', upper(v_incident ->> 'severity'),
                                private.slack_escape(v_incident ->> 'title'), private.slack_escape(v_incident ->> 'summary'))
      when 'resolved' then format(':white_check_mark: *Resolved* %s: %s', private.slack_escape(v_incident ->> 'title'),
                                  private.slack_escape(v_incident ->> 'summary'))
      else format(':wave: Test message from Job Health: the channel "%s" works.', private.slack_escape(p_channel.name))
    end;
    v_body := jsonb_build_object('text', v_text, 'blocks', jsonb_build_array(
      jsonb_build_object('type', 'section', 'text', jsonb_build_object('type', 'mrkdwn', 'text', v_text)),
      jsonb_build_object('type', 'context', 'elements', jsonb_build_array(jsonb_build_object('type', 'mrkdwn',
        'text', case when v_incident is null then format('Job Health · delivery %s', p_delivery_id)
                     else format('Job Health · incident #%s · rule %s · opened %s UTC', v_incident ->> 'id',
                                 v_incident ->> 'rule_id',
                                 to_char((v_incident ->> 'opened_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:MI'))
                end)))));
    body := v_body::text;
    headers := jsonb_build_object('Content-Type', 'application/json', 'User-Agent', 'JobHealth-Alerts/1');
  else
    v_body := p_payload || jsonb_build_object('delivery_id', p_delivery_id, 'sent_at', p_sent_at);
    body := v_body::text;
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'User-Agent', 'JobHealth-Alerts/1',
      'X-JobHealth-Event', p_payload ->> 'type',
      'X-JobHealth-Delivery', p_delivery_id::text,
      'X-JobHealth-Timestamp', v_timestamp,
      'X-JobHealth-Signature', 'v1=' || encode(extensions.hmac(
        convert_to(v_timestamp || '.' || body, 'UTF8'),
        convert_to(private.alert_secret(p_channel.id, 'signing_secret'), 'UTF8'), 'sha256'), 'hex'));
  end if;
  return next;
end;
$$;

-- finish_alert_delivery(p_id bigint, p_attempt integer, p_http_status integer, p_error text,
--   p_final boolean default false) returns text   (the senders; no API role)
-- Records how attempt p_attempt of delivery p_id ended. Fenced by the attempt number: a late
-- answer for an attempt whose lease expired and was taken again changes nothing ('fenced').
-- Returns 'delivered', 'retry' or 'failed'.
create function private.finish_alert_delivery(
  p_id bigint, p_attempt integer, p_http_status integer, p_error text, p_final boolean default false
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_delivery public.alert_deliveries;
  v_ok boolean := p_http_status between 200 and 299;
begin
  select * into v_delivery from public.alert_deliveries
   where id = p_id and status = 'sending' and attempts = p_attempt
     for update;
  if not found then
    return 'fenced';
  end if;
  update public.alert_deliveries
     set status = case when v_ok then 'delivered'
                       when p_final or attempts >= max_attempts then 'failed' else 'pending' end,
         delivered_at = case when v_ok then now() end,
         next_attempt_at = case when v_ok or p_final or attempts >= max_attempts then next_attempt_at
                                else now() + make_interval(secs => least(3600, 15 * power(2, attempts - 1)) * (0.75 + random() * 0.5)) end,
         lease_until = null,
         last_status = p_http_status,
         last_error = case when v_ok then null
                           else left(coalesce(p_error, format('the receiver answered %s', p_http_status)), 500) end,
         updated_at = now()
   where id = p_id
  returning * into v_delivery;
  return case v_delivery.status when 'delivered' then 'delivered' when 'failed' then 'failed' else 'retry' end;
end;
$$;

-- take_alert_deliveries(p_via text, p_limit integer default 20)
--   returns table (id bigint, attempt integer, url text, headers jsonb, body text)
--   (the senders; no API role)
-- Takes up to p_limit deliveries that are due (pending and past next_attempt_at, or sending
-- with an expired lease), FOR UPDATE SKIP LOCKED so two senders never take the same one,
-- marks them sending under a two-minute lease, and returns each one's request to make. A
-- delivery whose channel was deleted, or disabled since (test messages excepted), ends failed.
create function private.take_alert_deliveries(p_via text, p_limit integer default 20)
returns table (id bigint, attempt integer, url text, headers jsonb, body text)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row record;
  v_channel public.alert_channels;
  v_request record;
begin
  if p_via is null or p_via not in ('pg_net', 'local') then
    raise exception 'via must be pg_net or local' using errcode = '22023';
  end if;
  for v_row in
    with due as (
      select d.id from public.alert_deliveries d
       where d.status = 'pending' and d.next_attempt_at <= now()
          or d.status = 'sending' and d.lease_until < now()
       order by d.next_attempt_at, d.id
       limit greatest(1, least(p_limit, 500))
         for update skip locked
    )
    update public.alert_deliveries d
       set status = 'sending', attempts = d.attempts + 1, last_attempt_at = now(),
           lease_until = now() + interval '2 minutes', via = p_via, net_request_id = null, updated_at = now()
      from due
     where d.id = due.id
    returning d.id, d.attempts, d.event, d.payload, d.channel_id
  loop
    select * into v_channel from public.alert_channels c where c.id = v_row.channel_id;
    if v_channel.deleted_at is not null then
      perform private.finish_alert_delivery(v_row.id, v_row.attempts, null, 'the channel was deleted', true);
      continue;
    end if;
    if not v_channel.enabled and v_row.event <> 'test' then
      perform private.finish_alert_delivery(v_row.id, v_row.attempts, null, 'the channel is disabled', true);
      continue;
    end if;
    select * into v_request from private.alert_request(v_row.id, v_row.event, v_row.payload, v_channel, now());
    id := v_row.id;
    attempt := v_row.attempts;
    url := v_request.url;
    headers := v_request.headers;
    body := v_request.body;
    return next;
  end loop;
end;
$$;

-- send_test_alert(p_channel_id uuid) returns public.alert_deliveries   (admin)
-- Queues a test message to the channel (one attempt: its answer is the test's result) and
-- returns the delivery row, whose status the console then follows. Audited.
-- Errors: 42501 not admin; PT404 no such channel.
create function public.send_test_alert(p_channel_id uuid) returns public.alert_deliveries
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'send_test_alert');
  v_channel public.alert_channels;
  v_delivery public.alert_deliveries;
begin
  select * into v_channel from public.alert_channels where id = p_channel_id and deleted_at is null;
  if not found then
    raise exception 'alert channel not found' using errcode = 'PT404';
  end if;
  insert into public.alert_deliveries (channel_id, event, payload, max_attempts, requested_by)
  values (p_channel_id, 'test', jsonb_build_object('type', 'test',
            'channel', jsonb_build_object('id', v_channel.id, 'name', v_channel.name)), 1, auth.uid())
  returning * into v_delivery;
  perform pg_notify('alert_delivery', '');
  perform private.write_audit('test_alert_channel', '{}', 'send a test message', null, null, 0, null,
    jsonb_build_object('channel_id', p_channel_id, 'delivery_id', v_delivery.id));
  return v_delivery;
end;
$$;

revoke all on function public.send_test_alert(uuid) from public, anon, service_role;
grant execute on function public.send_test_alert(uuid) to authenticated;
revoke all on all functions in schema private from public;
