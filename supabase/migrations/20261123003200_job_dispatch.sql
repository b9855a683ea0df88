-- Waking the worker. A job is running within about 100 ms of being enqueued instead of after a
-- polling interval (the 5 s poll this replaces), and nothing calls the worker when there is no
-- work.
--
-- Everywhere: enqueueing a job, or putting one back to queued ready to run now (release,
-- admin requeue or retry), NOTIFYs channel `job_dispatch`. Postgres delivers it at commit, and
-- delivers one notification per transaction however many rows it touched (identical payloads
-- are folded), so a bulk retry of 1,000 jobs wakes the worker once. The local scheduler LISTENs
-- on it and invokes the worker over HTTP. Delayed retries (run_at in the future) do not notify:
-- the sweep below, or the local scheduler's sweep, picks them up.
--
-- Hosted Supabase (pg_net and pg_cron present): the same trigger also posts to the edge function
-- through pg_net, at most once a second, and pg_cron sweeps every 10 seconds. The project URL and
-- service-role key come from Vault secrets `project_url` and `service_role_key` (see the README),
-- never from this file.
create function private.jobs_dispatch() returns trigger
language plpgsql
as $$
begin
  perform pg_notify('job_dispatch', '');
  return null;
end;
$$;

-- Row triggers with the condition in WHEN, evaluated in C: heartbeats, claims and completions,
-- which are almost every update, never call the function.
create trigger jobs_dispatch_on_insert after insert on public.jobs
  for each row when (new.status = 'queued' and new.run_at <= now())
  execute function private.jobs_dispatch();
create trigger jobs_dispatch_on_requeue after update of status on public.jobs
  for each row when (new.status = 'queued' and old.status <> 'queued' and new.run_at <= now())
  execute function private.jobs_dispatch();

do $outer$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_net') then
    return;
  end if;
  create extension if not exists pg_net;

  -- One row: when the worker was last invoked. Enqueue bursts become one invocation a second;
  -- the worker claims as many jobs as it has room for each time.
  create table if not exists private.worker_dispatch_state (
    id boolean primary key default true check (id),
    last_invoked_at timestamptz not null default '-infinity'
  );
  insert into private.worker_dispatch_state (id) values (true) on conflict (id) do nothing;
  revoke all on private.worker_dispatch_state from public;

  create or replace function private.invoke_job_worker(p_min_gap interval default interval '1 second')
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

  create or replace function private.jobs_dispatch() returns trigger
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
