-- Alert deliveries: each channel on its own clock, and an incident's messages in order.
-- Replaces three functions of 20261206100400_alert_deliveries and 20261206100700_alert_schedules
-- (those files are released; this one redefines them with `create or replace`, and is where
-- they are read from now on):
--
--   * take_alert_deliveries holds a 'resolved' message back while the same channel's 'opened'
--     message for that incident is still pending or being sent (a retry waiting, a call in
--     flight). It goes once the 'opened' one was delivered, or failed for good: a receiver never
--     gets "resolved" before "opened", and one whose "opened" never arrived still hears the end
--     (the message carries the whole incident). Nothing else waits on anything: every other
--     delivery, of this channel or another, is taken when it is due.
--   * finish_alert_delivery wakes the senders when an 'opened' message ends, so a 'resolved' one
--     held back behind it leaves at once rather than at the next sweep.
--   * send_alert_deliveries_via_pg_net (hosted) gives each call 5 s, not 10, and is run only
--     by its own 10-second schedule (no longer also right after the evaluation). pg_net makes
--     its calls in batches and starts the next batch only when every call of the current one
--     has ended, so one receiver that never answers used to hold up every message queued
--     behind it for its whole timeout, on each retry. Sent only on the 10-second ticks, with a
--     timeout that ends (with pg_net's 1 s pause between batches) before the next tick, each
--     tick's batch is over before the next one's requests are queued: a dead receiver costs
--     its own calls their 5 s and delays no other channel's message. The cost is that an
--     incident's first message waits for the next tick (at most 10 s) instead of leaving right
--     after the evaluation. The local sender (supabase/local/alert-delivery.ts) makes each call
--     on its own and waits for none of the others.

-- Only functions are replaced here (and, on hosted, a pg_cron job): nothing should wait for a
-- lock, and if something holds one, the deploy fails after 5 s rather than stall.
set local lock_timeout = '5s';

-- take_alert_deliveries(p_via text, p_limit integer default 20)
--   returns table (id bigint, attempt integer, url text, headers jsonb, body text)
--   (the senders; no API role)
-- Takes up to p_limit deliveries that are due (pending and past next_attempt_at, or sending
-- with an expired lease), FOR UPDATE SKIP LOCKED so two senders never take the same one,
-- marks them sending under a two-minute lease, and returns each one's request to make. A
-- 'resolved' message is not due while its channel's 'opened' message for the same incident is
-- pending or sending. A delivery whose channel was deleted, or disabled since (test messages
-- excepted), ends failed.
create or replace function private.take_alert_deliveries(p_via text, p_limit integer default 20)
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
       where (d.status = 'pending' and d.next_attempt_at <= now()
              or d.status = 'sending' and d.lease_until < now())
         -- The unique index alert_deliveries_once finds the 'opened' row.
         and (d.event <> 'resolved' or not exists (
               select 1 from public.alert_deliveries o
                where o.incident_id = d.incident_id and o.channel_id = d.channel_id and o.event = 'opened'
                  and o.status in ('pending', 'sending')))
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

-- finish_alert_delivery(p_id bigint, p_attempt integer, p_http_status integer, p_error text,
--   p_final boolean default false) returns text   (the senders; no API role)
-- Records how attempt p_attempt of delivery p_id ended. Fenced by the attempt number: a late
-- answer for an attempt whose lease expired and was taken again changes nothing ('fenced').
-- Returns 'delivered', 'retry' or 'failed'. When an 'opened' message ends (delivered or failed)
-- and its 'resolved' message is waiting, the senders are woken (NOTIFY alert_delivery).
create or replace function private.finish_alert_delivery(
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
  if v_delivery.event = 'opened' and v_delivery.status in ('delivered', 'failed') and exists (
       select 1 from public.alert_deliveries r
        where r.incident_id = v_delivery.incident_id and r.channel_id = v_delivery.channel_id
          and r.event = 'resolved' and r.status = 'pending') then
    perform pg_notify('alert_delivery', '');
  end if;
  return case v_delivery.status when 'delivered' then 'delivered' when 'failed' then 'failed' else 'retry' end;
end;
$$;

-- send_alert_deliveries_via_pg_net() returns integer   (pg_cron, every 10 s; hosted only)
-- Records the answers pg_net has received for earlier sends (net._http_response), then takes
-- what is due and queues each request with net.http_post, 5 s timeout. Returns how many it
-- queued. It names pg_net's objects only when it runs, so its tests give it a stand-in.
create or replace function private.send_alert_deliveries_via_pg_net() returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_answer record;
  v_request record;
  v_sent integer := 0;
begin
  for v_answer in
    select d.id, d.attempts, r.status_code, r.timed_out, r.error_msg
      from public.alert_deliveries d
      join net._http_response r on r.id = d.net_request_id
     where d.status = 'sending' and d.via = 'pg_net'
  loop
    perform private.finish_alert_delivery(v_answer.id, v_answer.attempts, v_answer.status_code,
      coalesce(v_answer.error_msg, case when v_answer.timed_out then 'the receiver did not answer within 5 s' end));
  end loop;
  for v_request in select * from private.take_alert_deliveries('pg_net', 50) loop
    -- pg_net sends a jsonb body as its text, which is the text the signature covers.
    update public.alert_deliveries
       set net_request_id = net.http_post(url := v_request.url, body := v_request.body::jsonb,
                                          headers := v_request.headers, timeout_milliseconds := 5000)
     where id = v_request.id;
    v_sent := v_sent + 1;
  end loop;
  return v_sent;
end;
$$;
revoke all on function private.send_alert_deliveries_via_pg_net() from public;

-- The evaluation no longer sends; the 10-second schedule does (see the header). Where pg_cron is
-- older than 1.5 (no sub-minute schedules) the sender stays on the evaluation's minute, as it was.
do $$
begin
  -- Nested: cron.job cannot even be named where pg_cron is absent (the local platform).
  if exists (select 1 from pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_extension where extname = 'pg_net') then
    if exists (select 1 from cron.job where jobname = 'jobhealth-send-alerts' and schedule = '10 seconds') then
      perform cron.schedule('jobhealth-evaluate-alerts', '* * * * *', 'select public.evaluate_alerts()');
    end if;
  end if;
end
$$;
