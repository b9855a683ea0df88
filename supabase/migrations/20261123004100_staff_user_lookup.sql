-- Support looks users up by email. auth.users is not exposed through the API (and must not be:
-- it holds password hashes and tokens), so staff get these two narrow, read-only functions
-- returning the columns the console shows and nothing else.
--
-- find_users(p_email text) returns table (id, email, role, balance, created_at, last_sign_in_at)
--   (support, admin) Case-insensitive: an exact email first, then emails starting with the text,
--   at most 20 rows. Errors: 42501 not staff; 22023 text empty or over 320 characters.
-- get_user_profile(p_user_id uuid) returns the same row for one user, or no row.   (support, admin)
-- Reads are not audited (staff read everything by policy); what they then do to a user is.

-- The one place that says what a user looks like to staff (the role as app_role reads it).
create view private.user_profiles as
  select u.id, u.email::text as email,
         case u.raw_app_meta_data ->> 'role' when 'admin' then 'admin' when 'support' then 'support' else 'user' end as role,
         coalesce(a.balance, 0)::bigint as balance, u.created_at, u.last_sign_in_at, u.deleted_at
    from auth.users u
    left join public.credit_accounts a on a.user_id = u.id;
revoke all on private.user_profiles from public;

create function public.find_users(p_email text)
returns table (id uuid, email text, role text, balance bigint, created_at timestamptz, last_sign_in_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_term text := lower(btrim(coalesce(p_email, '')));
begin
  perform private.require_role(array['support', 'admin'], 'find_users');
  if v_term = '' then
    raise exception 'enter an email address or the start of one' using errcode = '22023';
  end if;
  if length(v_term) > 320 then
    raise exception 'email is too long: % characters, the limit is 320', length(v_term) using errcode = '22023';
  end if;
  -- The term is matched as a literal prefix: % and _ typed by staff are not wildcards.
  return query
    select p.id, p.email, p.role, p.balance, p.created_at, p.last_sign_in_at
      from private.user_profiles p
     where p.deleted_at is null
       and lower(p.email) like replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_') || '%'
     order by lower(p.email) = v_term desc, lower(p.email)
     limit 20;
end;
$$;

create function public.get_user_profile(p_user_id uuid)
returns table (id uuid, email text, role text, balance bigint, created_at timestamptz, last_sign_in_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform private.require_role(array['support', 'admin'], 'get_user_profile');
  return query
    select p.id, p.email, p.role, p.balance, p.created_at, p.last_sign_in_at
      from private.user_profiles p
     where p.id = p_user_id;
end;
$$;

revoke all on function public.find_users(text) from public, anon, service_role;
revoke all on function public.get_user_profile(uuid) from public, anon, service_role;
grant execute on function public.find_users(text) to authenticated;
grant execute on function public.get_user_profile(uuid) to authenticated;
