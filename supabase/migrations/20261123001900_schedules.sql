-- Maintenance every minute: the reaper and the metrics rollup. Where pg_cron exists (hosted
-- Supabase) it runs them; where it does not (the local platform), the same migrations apply and
-- the local scheduler calls the same two functions. A direct database session has no JWT, which
-- public.app_role() treats as a trusted backend (service_role).
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    perform cron.schedule('jobhealth-reap-expired-jobs', '* * * * *', 'select public.reap_expired_jobs()');
    perform cron.schedule('jobhealth-rollup-metrics', '* * * * *', 'select public.rollup_metrics()');
  end if;
end
$$;
