-- Charging, refunding and granting credits: the only writers of public.credit_ledger, whose
-- triggers keep balance = sum(ledger) and never negative (20261123000200_tables.sql).
-- A job is charged once when it is created and once more for every paid retry (charge_seq counts
-- them). Every final failure, cancellation, deadline and disabled-model failure refunds the
-- current charge exactly once: the unique index on (job_id, charge_seq) for refunds decides,
-- whatever raced to issue it, and a refund must match its charge. Each of those paths refunds
-- first and then changes the job's status, so the transition's message to the owner already
-- carries the refund (private.job_refunded_credits, 20261123000300_job_state_machine.sql).
--
-- The owner's balance moves live: a ledger statement that is not part of a job transition (a
-- grant, an adjustment) sends 'credits_changed' with the new balance to 'user:<user_id>:jobs'
-- (20261123001000_realtime_topics.sql). Charges and refunds need no message of their own: the
-- job's 'job_changed' already says the job was created, retried or refunded.

-- Charge a job, or raise PT402 with the numbers. Locks the account row first, which also
-- serialises one user's concurrent create_job calls (so the queued-jobs limit holds).
create function private.charge_job(p_user_id uuid, p_job_id uuid, p_charge_seq integer, p_cost integer, p_note text)
returns void
language plpgsql
as $$
declare
  v_balance bigint;
begin
  select balance into v_balance from public.credit_accounts where user_id = p_user_id for update;
  v_balance := coalesce(v_balance, 0);
  if v_balance < p_cost then
    raise exception 'not enough credits: this job costs % credits and your balance is %', p_cost, v_balance
      using errcode = 'PT402';
  end if;
  if p_cost > 0 then
    insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_id, actor_role, note)
    values (p_user_id, -p_cost, 'job_charge', p_job_id, p_charge_seq,
            nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
            coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'), p_note);
  end if;
end;
$$;

-- Refund the job's current charge; returns the credits refunded, 0 when that charge was already
-- refunded (the unique index decides, so concurrent refunders cannot both succeed).
create function private.refund_job(p_job public.jobs, p_note text) returns integer
language plpgsql
as $$
declare
  v_delta bigint;
begin
  if p_job.credits_cost = 0 then
    return 0;
  end if;
  insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_id, actor_role, note)
  values (p_job.user_id, p_job.credits_cost, 'job_refund', p_job.id, p_job.charge_seq,
          nullif(current_setting('jobhealth.actor_id', true), '')::uuid,
          coalesce(nullif(current_setting('jobhealth.actor_role', true), ''), 'database'), p_note)
  on conflict (job_id, charge_seq) where reason = 'job_refund' do nothing
  returning delta into v_delta;
  return coalesce(v_delta, 0);
end;
$$;

-- The new balance rather than the delta: applying it twice, or after a refetch that already
-- counted it, changes nothing. Only statements with a grant or an adjustment send; a job's
-- charge or refund returns at once, before the exception block, because a bulk action refunds
-- job by job and a subtransaction per refund would overflow the per-backend cache past 64.
create function private.ledger_broadcast() returns trigger
language plpgsql
as $$
begin
  if not exists (select 1 from new_rows r where r.reason in ('grant', 'adjustment')) then
    return null;
  end if;
  begin
    insert into realtime.messages (topic, extension, event, private, payload)
    select 'user:' || u.user_id || ':jobs', 'broadcast', 'credits_changed', true,
           jsonb_build_object('balance', coalesce(a.balance, 0))
      from (select distinct r.user_id from new_rows r where r.reason in ('grant', 'adjustment')) u
      left join public.credit_accounts a on a.user_id = u.user_id;
  exception when others then
    raise warning 'credits broadcast failed: %', sqlerrm;
  end;
  return null;
end;
$$;
create trigger credit_ledger_broadcast after insert on public.credit_ledger
  referencing new table as new_rows
  for each statement execute function private.ledger_broadcast();

revoke all on all functions in schema private from public;

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
