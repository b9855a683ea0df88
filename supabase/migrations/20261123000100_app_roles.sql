-- Who is calling, decided in one place, and the helpers every privileged function starts with.
-- Every policy and every privileged function asks public.app_role() rather than reading claims
-- itself, so the rule cannot drift between them.
--
--   'admin' | 'support'  an authenticated JWT whose server-set app_metadata.role says so
--   'user'               any other authenticated JWT with a subject (user_metadata is never read:
--                        users can write it themselves)
--   'service_role'       the service-role JWT (the worker), or a direct database login with no
--                        JWT at all (pg_cron, the local scheduler, migrations): those already hold
--                        the database password, so they are trusted backends
--   'anon'               everything else, including PostgREST's login role without claims
create schema if not exists private;
revoke all on schema private from public;
comment on schema private is 'Helpers and trigger functions; not exposed through the API.';
-- Helpers here (and app_role) name every object schema-qualified and do not set search_path
-- themselves: they run inside the security-definer functions that do. A per-function
-- `set search_path` swaps a GUC on every call and stops SQL functions from being inlined, and
-- these helpers run on every worker call.

-- plpgsql, not SQL: a SQL function with a sub-select is not inlined and is planned on every
-- call, which costs many times what this does (docs/benchmarks.md, Schema costs), and this runs
-- on every worker call.
create function public.app_role() returns text
language plpgsql stable
as $$
declare
  v_claims jsonb := auth.jwt();
begin
  if v_claims is null then
    return case when session_user::text = 'authenticator' then 'anon' else 'service_role' end;
  elsif v_claims ->> 'role' = 'service_role' then
    return 'service_role';
  elsif v_claims ->> 'role' = 'authenticated' and nullif(v_claims ->> 'sub', '') is not null then
    return case v_claims -> 'app_metadata' ->> 'role'
      when 'admin' then 'admin'
      when 'support' then 'support'
      else 'user'
    end;
  end if;
  return 'anon';
end;
$$;
comment on function public.app_role() is
  'The caller''s application role: anon, user, support, admin or service_role.';
revoke all on function public.app_role() from public;
grant execute on function public.app_role() to anon, authenticated, service_role;

-- Raises 42501 (PostgREST: 401 for anon, 403 otherwise) unless the caller's role is allowed;
-- returns the role so the caller can branch on it without asking twice.
create function private.require_role(p_allowed text[], p_action text) returns text
language plpgsql stable
as $$
declare
  v_role text := public.app_role();
begin
  if not v_role = any (p_allowed) then
    raise exception 'permission denied: % requires the % role (you are %)',
      p_action, array_to_string(p_allowed, ' or '), v_role
      using errcode = '42501';
  end if;
  return v_role;
end;
$$;

-- The timeline and audit rows name who acted. State-changing functions record it here for the
-- rest of their transaction; the jobs trigger reads it back, so even a set-based update of many
-- jobs writes correctly attributed events without a per-row function call. Assignments, not
-- PERFORM: a PERFORM runs its SELECT through the full executor, an assignment of a plain
-- function call is evaluated as a simple expression.
create function private.set_actor(p_role text, p_reason text default null) returns void
language plpgsql
as $$
declare
  v_ignored text;
begin
  v_ignored := set_config('jobhealth.actor_id', coalesce(auth.uid()::text, ''), true);
  v_ignored := set_config('jobhealth.actor_role', p_role, true);
  v_ignored := set_config('jobhealth.reason', coalesce(p_reason, ''), true);
end;
$$;

-- A reason is required for every staff action and every cancellation: it is what the audit log
-- is read for. Bounded so a pasted log cannot bloat the audit table.
create function private.check_reason(p_reason text) returns text
language plpgsql immutable
as $$
declare
  v text := btrim(coalesce(p_reason, ''));
begin
  if v = '' then
    raise exception 'a reason is required' using errcode = '22023';
  end if;
  if length(v) > 500 then
    raise exception 'reason is too long: % characters, the limit is 500', length(v) using errcode = '22023';
  end if;
  return v;
end;
$$;

-- Bulk actions take at most 1000 ids: enough for any selection in the admin explorer, small
-- enough that one call's row locks and audit row stay bounded.
create function private.check_ids(p_ids uuid[]) returns void
language plpgsql immutable
as $$
begin
  if p_ids is null or cardinality(p_ids) = 0 then
    raise exception 'ids must be a non-empty list of job ids' using errcode = '22023';
  end if;
  if cardinality(p_ids) > 1000 then
    raise exception 'too many ids: %, the limit is 1000 per call', cardinality(p_ids) using errcode = '22023';
  end if;
  if array_position(p_ids, null) is not null then
    raise exception 'ids must not contain null' using errcode = '22023';
  end if;
end;
$$;

revoke all on all functions in schema private from public;
