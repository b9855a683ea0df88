-- grant_credits(p_user_id uuid, p_amount integer, p_reason text) returns jsonb   (support, admin)
-- Goodwill credits: one ledger row (reason 'grant') and one audit row in one transaction.
-- Returns {"user_id", "granted", "balance"}.
-- Errors: 42501 not support/admin; 22023 amount outside 1..100000 or reason missing/too long;
--         PT404 no such user.
create function public.grant_credits(p_user_id uuid, p_amount integer, p_reason text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['support', 'admin'], 'grant_credits');
  v_reason text := private.check_reason(p_reason);
  v_balance bigint;
begin
  -- 100000 is far above any goodwill gesture; a typo with extra zeros is refused, not granted.
  if p_amount is null or p_amount < 1 or p_amount > 100000 then
    raise exception 'amount must be a whole number of credits from 1 to 100000' using errcode = '22023';
  end if;
  if p_user_id is null or not exists (select 1 from auth.users where id = p_user_id) then
    raise exception 'user not found' using errcode = 'PT404';
  end if;
  perform private.set_actor(v_role, v_reason);
  insert into public.credit_ledger (user_id, delta, reason, actor_id, actor_role, note)
  values (p_user_id, p_amount, 'grant', auth.uid(), v_role, v_reason);
  select balance into v_balance from public.credit_accounts where user_id = p_user_id;
  perform private.write_audit('grant_credits', '{}', v_reason, null, null, p_amount, p_user_id,
                              jsonb_build_object('balance_after', v_balance));
  return jsonb_build_object('user_id', p_user_id, 'granted', p_amount, 'balance', v_balance);
end;
$$;
revoke all on function public.grant_credits(uuid, integer, text) from public, anon, service_role;
grant execute on function public.grant_credits(uuid, integer, text) to authenticated;
