-- Credits: an append-only ledger and a balance per user that only the ledger moves. Because a
-- balance changes only in the trigger on ledger insert, balance = sum(ledger) holds by
-- construction; the check constraint makes "never negative" the database's job, not the caller's.
create table public.credit_accounts (
  user_id uuid primary key references auth.users (id),
  balance bigint not null default 0 constraint balance_never_negative check (balance >= 0),
  updated_at timestamptz not null default now()
);

create table public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id),
  delta bigint not null check (delta <> 0),
  reason text not null check (reason in ('grant', 'job_charge', 'job_refund', 'adjustment')),
  job_id uuid references public.jobs (id),
  charge_seq integer,
  actor_id uuid,
  actor_role text not null,
  note text,
  created_at timestamptz not null default now(),
  constraint ledger_charge_shape check (reason <> 'job_charge' or (delta < 0 and job_id is not null and charge_seq is not null)),
  constraint ledger_refund_shape check (reason <> 'job_refund' or (delta > 0 and job_id is not null and charge_seq is not null)),
  constraint ledger_grant_positive check (reason <> 'grant' or delta > 0)
);
-- The refund-at-most-once invariant: one refund per charge of a job, whatever raced to issue it.
create unique index credit_ledger_one_refund_per_charge on public.credit_ledger (job_id, charge_seq)
  where reason = 'job_refund';
create unique index credit_ledger_one_charge_per_seq on public.credit_ledger (job_id, charge_seq)
  where reason = 'job_charge';
create index credit_ledger_user_idx on public.credit_ledger (user_id, id desc);

-- A refund returns exactly what its charge took, never more.
create function private.ledger_check_refund() returns trigger
language plpgsql
as $$
begin
  if new.reason = 'job_refund' and not exists (
    select 1 from public.credit_ledger c
    where c.reason = 'job_charge' and c.job_id = new.job_id and c.charge_seq = new.charge_seq
      and c.delta = -new.delta and c.user_id = new.user_id
  ) then
    raise exception 'a refund must match a charge of the same job (job %, charge %)', new.job_id, new.charge_seq
      using errcode = '23514';
  end if;
  return new;
end;
$$;
create trigger credit_ledger_check_refund before insert on public.credit_ledger
  for each row when (new.reason = 'job_refund') execute function private.ledger_check_refund();

create function private.ledger_apply() returns trigger
language plpgsql
as $$
begin
  -- Update first: INSERT ... ON CONFLICT would check balance >= 0 against the proposed new row
  -- (the bare delta) before finding the existing account, refusing every charge.
  update public.credit_accounts set balance = balance + new.delta, updated_at = now() where user_id = new.user_id;
  if not found then
    insert into public.credit_accounts as a (user_id, balance) values (new.user_id, new.delta)
    on conflict (user_id) do update set balance = a.balance + excluded.balance, updated_at = now();
  end if;
  return null;
end;
$$;
create trigger credit_ledger_apply after insert on public.credit_ledger
  for each row execute function private.ledger_apply();

create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function private.forbid_change();
create trigger credit_ledger_no_truncate before truncate on public.credit_ledger
  for each statement execute function private.forbid_change();

-- Balances move only inside the ledger trigger (trigger depth 2); a direct write, even by a
-- superuser, would break balance = sum(ledger), so it is refused.
create function private.accounts_guard() returns trigger
language plpgsql
as $$
begin
  if pg_trigger_depth() < 2 then
    raise exception 'credit balances change only through credit_ledger' using errcode = '42501';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
create trigger credit_accounts_guard before insert or update or delete on public.credit_accounts
  for each row execute function private.accounts_guard();
create trigger credit_accounts_no_truncate before truncate on public.credit_accounts
  for each statement execute function private.forbid_change();

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

alter table public.credit_accounts enable row level security;
alter table public.credit_ledger enable row level security;
revoke all on public.credit_accounts, public.credit_ledger from anon, authenticated, service_role;
grant select on public.credit_accounts, public.credit_ledger to authenticated, service_role;
create policy credit_accounts_read on public.credit_accounts for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );
create policy credit_ledger_read on public.credit_ledger for select to authenticated
  using (
    user_id = (select auth.uid()) and (select public.app_role()) = 'user'
    or (select public.app_role()) in ('support', 'admin')
  );
revoke all on all functions in schema private from public;
