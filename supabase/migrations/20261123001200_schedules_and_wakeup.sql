-- Maintenance on a schedule, and waking the worker when there is work.
--
-- Every minute: reap_expired_jobs() and rollup_metrics(). Where pg_cron exists (hosted Supabase)
-- it runs them; where it does not (the local platform), the same migrations apply and the local
-- scheduler calls the same two functions. A direct database session has no JWT, which
-- public.app_role() treats as a trusted backend (service_role).
--
-- The wake-up. A job starts running as soon as it is enqueued instead of after a polling
-- interval (the 5 s poll this replaces), and nothing calls the worker when there is no work.
-- Enqueueing a job, or putting one back to queued ready to run now (release, admin requeue or
-- retry: the jobs trigger, 20261123000300_job_state_machine.sql), NOTIFYs channel `job_dispatch`.
-- Postgres delivers it at commit, and delivers one notification per transaction however many
-- rows it touched (identical payloads are folded), so a bulk retry of 1,000 jobs wakes the worker
-- once. The local scheduler LISTENs on it and invokes the worker over HTTP. Delayed retries
-- (run_at in the future) do not notify: the sweep below, or the local scheduler's sweep, picks
-- them up.
-- Hosted Supabase (pg_net and pg_cron present): enqueueing also posts to the edge function
-- through pg_net, at most once a second, and pg_cron sweeps every 10 seconds; jobs put back to
-- queued by an update only NOTIFY, which nothing hosted listens to, so the sweep picks them up.
-- The project URL and service-role key come from Vault secrets `project_url` and
-- `service_role_key`, never from this file.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    perform cron.schedule('jobhealth-reap-expired-jobs', '* * * * *', 'select public.reap_expired_jobs()');
    perform cron.schedule('jobhealth-rollup-metrics', '* * * * *', 'select public.rollup_metrics()');
  end if;
end
$$;

-- private.jobs_dispatch(), the wake-up trigger's function, is defined once for the environment.
do $outer$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_net') then
    -- The local platform: the NOTIFY alone.
    create function private.jobs_dispatch() returns trigger
    language plpgsql
    as $fn$
begin
  perform pg_notify('job_dispatch', '');
  return null;
end;
$fn$;
    return;
  end if;

  -- Hosted: the NOTIFY, and the edge function invoked through pg_net at most once a second.
  create extension if not exists pg_net;

  -- One row: when the worker was last invoked. Enqueue bursts become one invocation a second;
  -- the worker claims as many jobs as it has room for each time.
  create table private.worker_dispatch_state (
    id boolean primary key default true check (id),
    last_invoked_at timestamptz not null default '-infinity'
  );
  insert into private.worker_dispatch_state (id) values (true);
  revoke all on private.worker_dispatch_state from public;

  create function private.invoke_job_worker(p_min_gap interval default interval '1 second')
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $fn$
  declare
    v_url text;
    v_key text;
  begin
    -- SKIP LOCKED: a concurrent enqueue that finds another transaction invoking right now
    -- leaves it to that one instead of queueing behind its row lock.
    perform 1 from private.worker_dispatch_state
     where id and last_invoked_at <= now() - p_min_gap
       for update skip locked;
    if not found then
      return null;
    end if;
    if to_regclass('vault.decrypted_secrets') is null then
      raise warning 'job worker not invoked: Vault is not available';
      return null;
    end if;
    select decrypted_secret into v_url from vault.decrypted_secrets where name = 'project_url';
    select decrypted_secret into v_key from vault.decrypted_secrets where name = 'service_role_key';
    if v_url is null or v_key is null then
      raise warning 'job worker not invoked: Vault secrets project_url and service_role_key are required';
      return null;
    end if;
    update private.worker_dispatch_state set last_invoked_at = now() where id;
    return net.http_post(
      url := rtrim(v_url, '/') || '/functions/v1/job-worker',
      body := '{}'::jsonb,
      headers := jsonb_build_object('content-type', 'application/json', 'authorization', 'Bearer ' || v_key),
      timeout_milliseconds := 10000);
  end;
  $fn$;
  revoke all on function private.invoke_job_worker(interval) from public;

  create function private.jobs_dispatch() returns trigger
  language plpgsql
  as $fn$
  begin
    perform pg_notify('job_dispatch', '');
    perform private.invoke_job_worker();
    return null;
  end;
  $fn$;

  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    begin
      -- Sub-minute schedules need pg_cron 1.5 (every hosted project has it).
      perform cron.schedule('jobhealth-job-worker-sweep', '10 seconds',
                            'select private.invoke_job_worker(interval ''0 seconds'')');
    exception when others then
      perform cron.schedule('jobhealth-job-worker-sweep', '* * * * *',
                            'select private.invoke_job_worker(interval ''0 seconds'')');
    end;
  end if;
end
$outer$;

revoke all on all functions in schema private from public;

-- A row trigger with the condition in WHEN, evaluated in C. Updates wake the worker from the jobs
-- trigger instead.
create trigger jobs_dispatch_on_insert after insert on public.jobs
  for each row when (new.status = 'queued' and new.run_at <= now())
  execute function private.jobs_dispatch();
