-- Running the alerts on a hosted project: pg_cron evaluates every minute, and pg_net sends the
-- queued deliveries. Where pg_cron or pg_net is absent (the local platform) this applies and
-- schedules nothing: the local scheduler evaluates on the same schedule and sends the same
-- queue (supabase/local/alert-delivery.ts), through the same take_alert_deliveries and
-- finish_alert_delivery.
--
-- send_alert_deliveries_via_pg_net() first records the answers pg_net has received for earlier
-- sends (net._http_response), then takes what is due and queues each request with
-- net.http_post. pg_net makes the calls from its own background worker after the transaction
-- commits, with a 10-second timeout: no transaction waits on a receiver. The URLs and signing
-- secrets come from Vault (private.alert_secret). It runs right after each evaluation, so an
-- incident's message leaves within seconds of it opening, and every 10 seconds for retries and
-- answers. The function exists everywhere (it names pg_net's objects only when it runs), so its
-- tests can give it a stand-in for pg_net; it is scheduled only where pg_net is installed.
create function private.send_alert_deliveries_via_pg_net() returns integer
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
      coalesce(v_answer.error_msg, case when v_answer.timed_out then 'the receiver did not answer within 10 s' end));
  end loop;
  for v_request in select * from private.take_alert_deliveries('pg_net', 50) loop
    -- pg_net sends a jsonb body as its text, which is the text the signature covers.
    update public.alert_deliveries
       set net_request_id = net.http_post(url := v_request.url, body := v_request.body::jsonb,
                                          headers := v_request.headers, timeout_milliseconds := 10000)
     where id = v_request.id;
    v_sent := v_sent + 1;
  end loop;
  return v_sent;
end;
$$;
revoke all on function private.send_alert_deliveries_via_pg_net() from public;

do $$
declare
  v_net boolean := exists (select 1 from pg_available_extensions where name = 'pg_net');
begin
  if v_net then
    create extension if not exists pg_net;
  end if;
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    if v_net then
      perform cron.schedule('jobhealth-evaluate-alerts', '* * * * *',
                            'select public.evaluate_alerts(); select private.send_alert_deliveries_via_pg_net();');
      begin
        -- Sub-minute schedules need pg_cron 1.5 (every hosted project has it).
        perform cron.schedule('jobhealth-send-alerts', '10 seconds', 'select private.send_alert_deliveries_via_pg_net()');
      exception when others then
        perform cron.schedule('jobhealth-send-alerts', '* * * * *', 'select private.send_alert_deliveries_via_pg_net()');
      end;
    else
      perform cron.schedule('jobhealth-evaluate-alerts', '* * * * *', 'select public.evaluate_alerts()');
    end if;
  end if;
end
$$;
