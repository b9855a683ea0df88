-- The pg_net wake-up sends the project's secret key, not the legacy service-role JWT. Supabase
-- retires the legacy anon and service_role keys by the end of 2026, and the worker admits only a
-- secret key (sb_secret_...) in the `apikey` header: a secret key is not a JWT, so it cannot go in
-- Authorization, and the worker's verify_jwt is off (supabase/config.toml). The key comes from
-- the Vault secret `worker_secret_key` (docs/deploying.md says how to set it), never from this
-- file. A project that has only the older `service_role_key` secret keeps waking the worker
-- with it, with a warning, until the new secret is set.
--
-- Also: pg_net created without a schema lands in `public`, which Supabase's security advisor
-- flags (extension_in_public); it moves to `extensions`, where hosted projects keep extensions.
-- Its queue tables hold only in-flight requests, so dropping and recreating it loses nothing
-- that matters. Hosted only: where pg_net is absent (the local platform) nothing here runs, and
-- the local scheduler sends the same apikey header (supabase/local/worker-dispatch.ts).
do $outer$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_net') then
    return;
  end if;
  if exists (select 1 from pg_extension where extname = 'pg_net' and extnamespace = 'public'::regnamespace) then
    drop extension pg_net;
  end if;
  create extension if not exists pg_net with schema extensions;

  create or replace function private.invoke_job_worker(p_min_gap interval default interval '1 second')
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $fn$
  declare
    v_url text;
    v_key text;
    v_legacy_key text;
    v_headers jsonb := jsonb_build_object('content-type', 'application/json');
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
    select decrypted_secret into v_key from vault.decrypted_secrets where name = 'worker_secret_key';
    if v_key is not null then
      v_headers := v_headers || jsonb_build_object('apikey', v_key);
    else
      select decrypted_secret into v_legacy_key from vault.decrypted_secrets where name = 'service_role_key';
      if v_legacy_key is not null then
        raise warning 'job worker invoked with the legacy service-role key: store the secret key as Vault secret worker_secret_key';
        v_headers := v_headers || jsonb_build_object('authorization', 'Bearer ' || v_legacy_key);
      end if;
    end if;
    if v_url is null or (v_key is null and v_legacy_key is null) then
      raise warning 'job worker not invoked: Vault secrets project_url and worker_secret_key are required';
      return null;
    end if;
    update private.worker_dispatch_state set last_invoked_at = now() where id;
    return net.http_post(
      url := rtrim(v_url, '/') || '/functions/v1/job-worker',
      body := '{}'::jsonb,
      headers := v_headers,
      timeout_milliseconds := 10000);
  end;
  $fn$;
  revoke all on function private.invoke_job_worker(interval) from public;
end
$outer$;
