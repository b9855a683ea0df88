-- What a hosted Supabase project has before its own migrations run: the API roles and the
-- role switching PostgREST does, the auth, storage and realtime schemas with the functions
-- policies call, the realtime publication, and Supabase's default grants. Applied by the
-- local platform only (never pushed to a hosted project), and idempotent: it runs on every
-- start, in one transaction, so an older local database catches up.

-- Roles are cluster-wide. The API roles cannot log in; `authenticator` logs in and may only
-- become one of them (noinherit), exactly as PostgREST's connection role. As on hosted
-- projects, the API roles themselves are INHERIT and granted to `postgres` (the role migrations
-- run as), so what postgres may do includes what they may.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if exists (select 1 from pg_roles where rolname = 'postgres') then
    grant anon, authenticated, service_role to postgres;
  end if;
end
$$;
-- Databases made before these roles were INHERIT catch up.
alter role anon inherit;
alter role authenticated inherit;
alter role service_role inherit;
grant anon, authenticated, service_role to authenticator;
-- PostgREST's own statement timeouts per role, as Supabase sets them.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
-- Hosted Supabase logs PostgREST in with these: whatever runs through the REST API (service_role
-- included, which has no timeout of its own) is cut at 8 s, and waits at most 8 s for a lock.
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';

create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- Supabase's defaults: the API roles may use public and get all privileges on what the
-- project creates there, which is why every table must enable row level security.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- auth: the GoTrue tables this platform's /auth/v1 uses, and the helpers policies call.
------------------------------------------------------------------------------------------
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key default extensions.gen_random_uuid(),
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  is_super_admin boolean,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  phone text,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
create unique index if not exists users_email_partial_key on auth.users (lower(email)) where email is not null;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  refreshed_at timestamptz,
  not_after timestamptz,
  aal text not null default 'aal1',
  user_agent text,
  ip inet
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token varchar(255) not null unique,
  user_id varchar(255),
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);

-- The claims of the verified JWT are set per request by the gateway (PostgREST) as
-- `request.jwt.claims`; these read them back. Older PostgREST set one GUC per claim, so the
-- per-claim settings are honoured first, as Supabase's own definitions do.
create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- storage: buckets and objects, with RLS on objects and no policies (deny by default).
------------------------------------------------------------------------------------------
create schema if not exists storage;
grant usage on schema storage to anon, authenticated, service_role;

create table if not exists storage.buckets (
  id text primary key,
  name text not null unique,
  owner uuid,
  public boolean not null default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists storage.objects (
  id uuid primary key default extensions.gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  owner_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_accessed_at timestamptz not null default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  user_metadata jsonb
);
create unique index if not exists bucketid_objname on storage.objects (bucket_id, name);
-- As hosted Storage has it: a folder's or a job's objects by name prefix (LIKE 'prefix%') are an
-- index scan, not a scan of every object.
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

create or replace function storage.foldername(name text) returns text[]
language sql immutable
as $$ select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;

create or replace function storage.filename(name text) returns text
language sql immutable
as $$ select (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)] $$;

create or replace function storage.extension(name text) returns text
language sql immutable
as $$ select reverse(split_part(reverse(storage.filename(name)), '.', 1)) $$;

------------------------------------------------------------------------------------------
-- realtime: the messages table behind Broadcast from Database and private-channel
-- authorisation, and the functions that write to it.
------------------------------------------------------------------------------------------
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

-- As upstream: partitioned by day on inserted_at, and only the Realtime server makes the
-- partitions (gateway/realtime/message-partitions.ts), so an insert for a day without one fails.
-- A database made when this table was a plain one is converted, its policies carried over
-- (they belong to the project's migrations); its rows are transient broadcasts and are dropped.
do $$
declare
  p record;
  policies text[] := '{}';
begin
  if exists (select 1 from pg_class where oid = to_regclass('realtime.messages') and relkind = 'r') then
    for p in select * from pg_policies where schemaname = 'realtime' and tablename = 'messages' loop
      policies := policies || format('create policy %I on realtime.messages as %s for %s to %s%s%s',
        p.policyname, p.permissive, p.cmd,
        (select string_agg(quote_ident(r), ', ') from unnest(p.roles) r),
        case when p.qual is not null then format(' using (%s)', p.qual) else '' end,
        case when p.with_check is not null then format(' with check (%s)', p.with_check) else '' end);
    end loop;
    drop table realtime.messages;
  end if;
  if to_regclass('realtime.messages') is null then
    create table realtime.messages (
      topic text not null,
      extension text not null,
      payload jsonb,
      event text,
      private boolean default false,
      updated_at timestamp not null default now(),
      inserted_at timestamp not null default now(),
      id uuid not null default extensions.gen_random_uuid(),
      binary_payload bytea,
      primary key (id, inserted_at)
    ) partition by range (inserted_at);
    for i in 1 .. coalesce(array_length(policies, 1), 0) loop
      execute policies[i];
    end loop;
  end if;
end
$$;
create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

-- Set by the realtime server while it evaluates a join's policies as the joining user.
create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
begin
  insert into realtime.messages (payload, event, topic, private, extension)
  values (payload, event, topic, private, 'broadcast');
exception when others then
  -- As on Supabase: a failed broadcast must never fail the transaction that sent it.
  raise warning 'realtime.send failed: %', sqlerrm;
end;
$$;

create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := case when operation in ('INSERT', 'UPDATE') then to_jsonb(new) end;
  old_data jsonb := case when operation in ('UPDATE', 'DELETE') then to_jsonb(old) end;
begin
  if level = 'STATEMENT' then
    row_data := null;
    old_data := null;
  end if;
  perform realtime.send(
    jsonb_build_object(
      'old_record', old_data, 'record', row_data, 'operation', operation,
      'table', table_name, 'schema', table_schema
    ),
    event_name, topic_name, true
  );
end;
$$;

-- Postgres Changes reads publication supabase_realtime; Broadcast from Database reads
-- realtime.messages through its own publication.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime_messages_publication') then
    create publication supabase_realtime_messages_publication for table realtime.messages;
  elsif not exists (select 1 from pg_publication_rel r join pg_publication p on p.oid = r.prpubid
                     where p.pubname = 'supabase_realtime_messages_publication' and r.prrelid = 'realtime.messages'::regclass) then
    alter publication supabase_realtime_messages_publication add table realtime.messages;
  end if;
end
$$;

-- Used only by the local Realtime server (connected as the database owner), never by API roles.
-- Which of a batch of changed rows each Postgres Changes subscriber may select, evaluated as
-- that subscriber (role and JWT claims set locally, as Supabase's apply_rls does), in one round
-- trip per batch. `checks` is [{i, role, claims, keys: {"<table oid>": [primary key]}}], a key
-- being the key column's text, or for a composite key a JSON array of the columns' texts. It
-- returns the (check, table, key) triples the subscriber can see. One indexed select per claim
-- set and table, cached by nothing but cheap to plan: about 0.05 ms each, where a join against
-- jsonb_to_recordset cost 0.4 ms (100 subscribers: 5 ms instead of 40 ms per batch).
-- A row the role may not select, or whose policy raises, is simply not visible. The transaction
-- is read-only so no policy can write.
-- `xids` are the 32-bit ids of the replicated transactions: a commit reaches the walsender when
-- its WAL is flushed, a moment before it becomes visible to other sessions, so the check first
-- waits (1 ms steps, at most 1 s) until every one of them is visible; otherwise it could read
-- the row as it was before the change (a user would see a row just taken away from them).
create or replace function realtime.local_visible_rows(checks jsonb, xids bigint[])
returns table (check_index int, rel oid, pk text)
language plpgsql volatile
as $$
declare
  c jsonb;
  r record;
  queries jsonb := '{}'::jsonb;
  q text;
  attempt int;
begin
  perform set_config('transaction_read_only', 'on', true);
  for attempt in 1..1000 loop
    exit when not exists (
      select 1
        from unnest(xids) x,
             lateral (select pg_snapshot_xmax(pg_current_snapshot())::text::bigint as xmax) s,
             lateral (select ((s.xmax >> 32) << 32) | x as full_xid) f
       where not pg_visible_in_snapshot(
               (case when f.full_xid > s.xmax then f.full_xid - 4294967296 else f.full_xid end)::text::xid8,
               pg_current_snapshot()));
    perform pg_sleep(0.001);
  end loop;

  for r in
    select cl.oid, n.nspname, cl.relname,
           array_agg(a.attname order by k.ord) as cols,
           array_agg(format_type(a.atttypid, a.atttypmod) order by k.ord) as types
      from pg_catalog.pg_class cl
      join pg_catalog.pg_namespace n on n.oid = cl.relnamespace
      join pg_catalog.pg_index i on i.indrelid = cl.oid and i.indisprimary
      cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
      join pg_catalog.pg_attribute a on a.attrelid = cl.oid and a.attnum = k.attnum
     where cl.oid in (select (jsonb_object_keys(x -> 'keys'))::oid from jsonb_array_elements(checks) x)
     group by cl.oid, n.nspname, cl.relname
  loop
    if array_length(r.cols, 1) = 1 then
      q := format('select $1::int, %s::oid, x.%I::text from %I.%I as x where x.%I = any($2::text[]::%s[])',
                  r.oid, r.cols[1], r.nspname, r.relname, r.cols[1], r.types[1]);
    else
      q := format('select $1::int, %s::oid, jsonb_build_array(%s)::text from %I.%I as x where (%s) in (select %s from unnest($2::text[]) as u(k))',
                  r.oid,
                  (select string_agg(format('x.%I::text', col), ', ') from unnest(r.cols) col),
                  r.nspname, r.relname,
                  (select string_agg(format('x.%I', col), ', ') from unnest(r.cols) col),
                  (select string_agg(format('(u.k::jsonb ->> %s)::%s', ord - 1, typ), ', ')
                     from unnest(r.types) with ordinality as t(typ, ord)));
    end if;
    queries := queries || jsonb_build_object(r.oid::text, q);
  end loop;

  for c in select * from jsonb_array_elements(checks) loop
    perform set_config('role', c ->> 'role', true),
            set_config('request.jwt.claims', (c -> 'claims')::text, true),
            set_config('request.jwt.claim.sub', coalesce(c -> 'claims' ->> 'sub', ''), true),
            set_config('request.jwt.claim.role', c ->> 'role', true);
    for r in select key as rel, value as keys from jsonb_each(c -> 'keys') loop
      q := queries ->> r.rel;
      continue when q is null;
      begin
        return query execute q using (c ->> 'i')::int, array(select jsonb_array_elements_text(r.keys));
      exception when others then
        null;
      end;
    end loop;
    perform set_config('role', 'none', true);
  end loop;
end;
$$;
revoke execute on function realtime.local_visible_rows(jsonb, bigint[]) from public;

-- Used only by the local Realtime server: what a user may do on a private channel topic, from
-- the RLS policies on realtime.messages evaluated as that user with realtime.topic() set, the
-- way Supabase Realtime authorises a join (read: probe rows it can see) and a send (write: an
-- insert the policies must allow). Everything happens in a subtransaction that is always rolled
-- back, so no probe row survives and the role and settings revert.
create or replace function realtime.local_topic_access(p_role text, p_claims jsonb, p_topic text, p_check_write boolean)
returns table (broadcast_read boolean, presence_read boolean, broadcast_write boolean, presence_write boolean)
language plpgsql volatile
as $$
declare
  b_id uuid := extensions.gen_random_uuid();
  p_id uuid := extensions.gen_random_uuid();
  br boolean := false;
  pr boolean := false;
  bw boolean := false;
  pw boolean := false;
begin
  begin
    insert into realtime.messages (id, topic, extension) values (b_id, p_topic, 'broadcast'), (p_id, p_topic, 'presence');
    perform set_config('role', p_role, true),
            set_config('realtime.topic', p_topic, true),
            set_config('request.jwt.claims', p_claims::text, true),
            set_config('request.jwt.claim.sub', coalesce(p_claims ->> 'sub', ''), true),
            set_config('request.jwt.claim.role', p_role, true);
    br := exists (select 1 from realtime.messages m where m.id = b_id);
    pr := exists (select 1 from realtime.messages m where m.id = p_id);
    if p_check_write then
      begin
        insert into realtime.messages (topic, extension) values (p_topic, 'broadcast');
        bw := true;
      exception when insufficient_privilege then
        bw := false;
      end;
      begin
        insert into realtime.messages (topic, extension) values (p_topic, 'presence');
        pw := true;
      exception when insufficient_privilege then
        pw := false;
      end;
    end if;
    raise exception using errcode = 'RT000', message = 'undo authorisation probe';
  exception when sqlstate 'RT000' then
    null;
  end;
  return query select br, pr, bw, pw;
end;
$$;
revoke execute on function realtime.local_topic_access(text, jsonb, text, boolean) from public;
