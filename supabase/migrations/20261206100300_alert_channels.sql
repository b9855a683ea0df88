-- Where alerts go outward: webhook channels configured by admins. Two kinds:
--   'slack'    a Slack incoming webhook (Slack's message format; the URL is the secret);
--   'webhook'  a generic JSON webhook, signed with HMAC-SHA256 over "<timestamp>.<body>" with
--              the channel's signing secret (headers in docs/alerts.md).
--
-- A channel's URL and signing secret are secrets. Only admins set them, through the functions
-- below; nothing returns them afterwards. public.alert_channels, which support and admin read,
-- holds only a hint (the URL's host and last characters, the secret's last characters). The
-- values live in private.alert_channel_secrets, out of reach of every API role, or, where
-- Supabase Vault is present (hosted projects), in Vault with only their ids in that table.
-- Only the delivery functions (private, run by pg_cron or the local scheduler) read them back.
--
-- A URL is checked when it is saved, with a clear error: https only; no credentials in it; no
-- host that is an IP address in a loopback, private, link-local, shared or unspecified range,
-- and no localhost names. The local platform may allow http:// and loopback targets for its
-- tests by configuration (private.alert_settings.allow_loopback_http), never a hosted project.
create table private.alert_settings (
  id boolean primary key default true check (id),
  allow_loopback_http boolean not null default false
);
insert into private.alert_settings (id) values (true);

create table public.alert_channels (
  id uuid primary key default extensions.gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 100),
  kind text not null check (kind in ('slack', 'webhook')),
  enabled boolean not null default true,
  -- 'warning' gets every incident; 'critical' only critical ones.
  min_severity text not null default 'warning' check (min_severity in ('warning', 'critical')),
  url_hint text not null,
  secret_hint text,
  created_at timestamptz not null default now(),
  created_by uuid,
  updated_at timestamptz not null default now(),
  -- Deleted channels stay (their delivery log names them) with their secrets erased.
  deleted_at timestamptz
);
create unique index alert_channels_name_idx on public.alert_channels (lower(name)) where deleted_at is null;

create table private.alert_channel_secrets (
  channel_id uuid primary key references public.alert_channels (id),
  -- Exactly one of each pair is set: the value here, or its Vault secret's id.
  url text,
  url_vault_id uuid,
  signing_secret text,
  signing_secret_vault_id uuid
);
revoke all on private.alert_settings, private.alert_channel_secrets from public;

alter table public.alert_channels enable row level security;
revoke all on public.alert_channels from anon, authenticated, service_role;
grant select on public.alert_channels to authenticated, service_role;
create policy alert_channels_read on public.alert_channels for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- The URL as it will be called, or 22023 saying what is wrong with it.
create function private.check_alert_url(p_url text) returns text
language plpgsql stable
as $$
declare
  v_url text := btrim(coalesce(p_url, ''));
  v_parts text[];
  v_scheme text;
  v_host text;
  v_ip inet;
  v_loopback_ok boolean := (select s.allow_loopback_http from private.alert_settings s where s.id);
  v_is_loopback boolean := false;
begin
  if v_url = '' then
    raise exception 'a URL is required' using errcode = '22023';
  end if;
  if length(v_url) > 2000 then
    raise exception 'the URL is too long: the limit is 2000 characters' using errcode = '22023';
  end if;
  v_parts := regexp_match(v_url, '^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([/?#].*)?$');
  if v_parts is null or v_url ~ '\s' then
    raise exception 'not a URL: %', left(v_url, 100) using errcode = '22023';
  end if;
  v_scheme := lower(v_parts[1]);
  if v_parts[2] like '%@%' then
    raise exception 'the URL must not contain a user name or password' using errcode = '22023';
  end if;
  -- The host without its port; an IPv6 literal keeps its brackets off.
  v_host := lower(coalesce((regexp_match(v_parts[2], '^\[([0-9a-fA-F:.]+)\](:[0-9]{1,5})?$'))[1],
                           (regexp_match(v_parts[2], '^([^:]+)(:[0-9]{1,5})?$'))[1], ''));
  if v_host = '' then
    raise exception 'the URL has no host' using errcode = '22023';
  end if;
  v_host := rtrim(v_host, '.');

  begin
    v_ip := v_host::inet;
  exception when others then
    v_ip := null;
  end;
  if v_ip is null then
    -- A name: letters, digits and hyphens in dot-separated labels, and not all digits at the
    -- end (HTTP clients read "2130706433" or "0x7f.1" as an IP address).
    if v_host !~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
       or v_host ~ '(^|\.)(0x[0-9a-f]+|[0-9]+)$' then
      raise exception 'the URL''s host "%" is not a valid host name', v_host using errcode = '22023';
    end if;
    v_is_loopback := v_host = 'localhost' or v_host like '%.localhost';
    if not v_is_loopback and (v_host ~ '\.(local|internal|home\.arpa)$' or v_host !~ '\.') then
      raise exception 'the URL''s host "%" is a local network name; use a public host', v_host using errcode = '22023';
    end if;
  else
    v_is_loopback := v_ip << inet '127.0.0.0/8' or v_ip = inet '::1';
    if not v_is_loopback and (
         v_ip << inet '0.0.0.0/8' or v_ip << inet '10.0.0.0/8' or v_ip << inet '100.64.0.0/10'
      or v_ip << inet '169.254.0.0/16' or v_ip << inet '172.16.0.0/12' or v_ip << inet '192.0.0.0/24'
      or v_ip << inet '192.168.0.0/16' or v_ip << inet '198.18.0.0/15' or v_ip << inet '224.0.0.0/3'
      or (family(v_ip) = 6 and (v_ip = inet '::' or v_ip << inet 'fc00::/7' or v_ip << inet 'fe80::/10'
                                or v_ip << inet 'ff00::/8' or v_ip << inet '::ffff:0:0/96'))) then
      raise exception 'the URL''s host % is a private, link-local or reserved address; alerts go to public hosts only', host(v_ip)
        using errcode = '22023';
    end if;
  end if;

  if v_is_loopback then
    if not coalesce(v_loopback_ok, false) then
      raise exception 'the URL''s host "%" is this machine (loopback); alerts go to public hosts only', v_host
        using errcode = '22023';
    end if;
    if v_scheme not in ('http', 'https') then
      raise exception 'the URL must use https' using errcode = '22023';
    end if;
  elsif v_scheme <> 'https' then
    raise exception 'the URL must use https (it uses %)', v_scheme using errcode = '22023';
  end if;
  return v_url;
end;
$$;

-- What a channel row shows of a URL: scheme, host and the last four characters.
create function private.alert_url_hint(p_url text) returns text
language sql immutable
as $$
  select (regexp_match(p_url, '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)'))[1]
         || case when length(p_url) > length((regexp_match(p_url, '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)'))[1]) + 4
                 then '/…' || right(p_url, 4) else '' end
$$;

-- A signing secret: 32 to 200 characters, no whitespace (it goes into a receiver's config file).
create function private.check_signing_secret(p_secret text) returns text
language plpgsql immutable
as $$
begin
  if p_secret is null or length(p_secret) < 32 or length(p_secret) > 200 or p_secret ~ '\s' then
    raise exception 'a signing secret is 32 to 200 characters without spaces' using errcode = '22023';
  end if;
  return p_secret;
end;
$$;

-- Stores one secret of a channel: in Vault where it exists, else in the private table.
create function private.put_alert_secret(p_channel_id uuid, p_kind text, p_value text) returns void
language plpgsql
as $$
declare
  v_vault_id uuid;
begin
  insert into private.alert_channel_secrets (channel_id) values (p_channel_id) on conflict (channel_id) do nothing;
  if to_regprocedure('vault.create_secret(text, text, text)') is null then
    if p_kind = 'url' then
      update private.alert_channel_secrets set url = p_value where channel_id = p_channel_id;
    else
      update private.alert_channel_secrets set signing_secret = p_value where channel_id = p_channel_id;
    end if;
    return;
  end if;
  execute format('select %I from private.alert_channel_secrets where channel_id = $1',
                 case when p_kind = 'url' then 'url_vault_id' else 'signing_secret_vault_id' end)
    into v_vault_id using p_channel_id;
  if v_vault_id is null then
    execute 'select vault.create_secret($1, $2, $3)' into v_vault_id
      using p_value, format('jobhealth_alert_%s_%s', p_channel_id, p_kind), 'Job Health alert channel ' || p_kind;
    execute format('update private.alert_channel_secrets set %I = $1 where channel_id = $2',
                   case when p_kind = 'url' then 'url_vault_id' else 'signing_secret_vault_id' end)
      using v_vault_id, p_channel_id;
  else
    execute 'select vault.update_secret($1, $2)' using v_vault_id, p_value;
  end if;
end;
$$;

-- Reads one secret of a channel back (for the delivery functions only).
create function private.alert_secret(p_channel_id uuid, p_kind text) returns text
language plpgsql stable
as $$
declare
  s private.alert_channel_secrets;
  v_value text;
begin
  select * into s from private.alert_channel_secrets where channel_id = p_channel_id;
  if not found then
    return null;
  end if;
  v_value := case when p_kind = 'url' then s.url else s.signing_secret end;
  if v_value is null and (case when p_kind = 'url' then s.url_vault_id else s.signing_secret_vault_id end) is not null then
    execute 'select decrypted_secret from vault.decrypted_secrets where id = $1' into v_value
      using case when p_kind = 'url' then s.url_vault_id else s.signing_secret_vault_id end;
  end if;
  return v_value;
end;
$$;

-- Erases a channel's secrets, in Vault too.
create function private.erase_alert_secrets(p_channel_id uuid) returns void
language plpgsql
as $$
declare
  s private.alert_channel_secrets;
begin
  delete from private.alert_channel_secrets where channel_id = p_channel_id returning * into s;
  if found and (s.url_vault_id is not null or s.signing_secret_vault_id is not null) then
    execute 'delete from vault.secrets where id = any($1)' using array[s.url_vault_id, s.signing_secret_vault_id];
  end if;
end;
$$;

-- create_alert_channel(p_name text, p_kind text, p_url text, p_reason text,
--   p_signing_secret text default null, p_min_severity text default 'warning')
--   returns public.alert_channels   (admin)
-- A 'webhook' channel needs a signing secret (32-200 characters); a 'slack' one takes none.
-- Returns the row, which holds hints only. Audited (without the secrets).
-- Errors: 42501 not admin; 22023 name, kind, URL, secret, severity or reason; 23505 a channel
-- with that name exists.
create function public.create_alert_channel(
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
  insert into public.alert_channels (name, kind, min_severity, url_hint, secret_hint, created_by)
  values (btrim(p_name), p_kind, p_min_severity, private.alert_url_hint(v_url),
          case when p_kind = 'webhook' then '…' || right(p_signing_secret, 4) end, auth.uid())
  returning * into v_channel;
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
create function public.update_alert_channel(
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
  update public.alert_channels
     set name = coalesce(btrim(p_name), name), enabled = coalesce(p_enabled, enabled),
         min_severity = coalesce(p_min_severity, min_severity),
         url_hint = coalesce(private.alert_url_hint(v_url), url_hint),
         secret_hint = coalesce('…' || right(p_signing_secret, 4), secret_hint), updated_at = now()
   where id = p_channel_id
  returning * into v_after;
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

-- delete_alert_channel(p_channel_id uuid, p_reason text) returns public.alert_channels   (admin)
-- Erases the channel's secrets (in Vault too) and marks it deleted; its delivery log stays.
-- A delivery still waiting for it ends failed when its turn comes (there is nowhere to send
-- it). Audited.
-- Errors: 42501 not admin; 22023 reason; PT404 no such channel (or already deleted).
create function public.delete_alert_channel(p_channel_id uuid, p_reason text)
returns public.alert_channels
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'delete_alert_channel');
  v_reason text := private.check_reason(p_reason);
  v_channel public.alert_channels;
begin
  update public.alert_channels set deleted_at = now(), enabled = false, updated_at = now()
   where id = p_channel_id and deleted_at is null
  returning * into v_channel;
  if not found then
    raise exception 'alert channel not found' using errcode = 'PT404';
  end if;
  perform private.erase_alert_secrets(p_channel_id);
  perform private.write_audit('delete_alert_channel', '{}', v_reason,
    jsonb_build_object('name', v_channel.name, 'kind', v_channel.kind, 'url', v_channel.url_hint), null, 0, null,
    jsonb_build_object('channel_id', p_channel_id));
  return v_channel;
end;
$$;

revoke all on function public.create_alert_channel(text, text, text, text, text, text) from public, anon, service_role;
revoke all on function public.update_alert_channel(uuid, text, text, boolean, text, text, text) from public, anon, service_role;
revoke all on function public.delete_alert_channel(uuid, text) from public, anon, service_role;
grant execute on function public.create_alert_channel(text, text, text, text, text, text) to authenticated;
grant execute on function public.update_alert_channel(uuid, text, text, boolean, text, text, text) to authenticated;
grant execute on function public.delete_alert_channel(uuid, text) to authenticated;
revoke all on all functions in schema private from public;
