-- What deleting a user means. Before, the foreign keys from jobs, credit_ledger and
-- credit_accounts to auth.users had no delete rule, so deleting a user who had ever made a job
-- failed, from the Supabase dashboard as from the Auth admin API. The policy:
--
-- * Personal data goes. The auth.users row (email, password hash, metadata) and the sessions go
--   with GoTrue's delete; here, in the same transaction, the prompts, options, results and
--   error messages of the user's jobs are blanked, and every object in their folder of `results`
--   (the images and their thumbnails) is queued for erasure: Storage objects can only be deleted through the Storage API (hosted Storage refuses
--   a DELETE on storage.objects), so the worker, which holds the secret key, removes them on its
--   next invocation (claim_object_erasures / finish_object_erasures).
-- * Accounting records survive. Jobs (model, status, cost, timings), their timeline, provider
--   calls, the credits ledger and the audit log stay, so metrics, costs and the ledger still add
--   up. They keep the user's id as an opaque account number: with the auth.users row gone,
--   nothing in the project links it to a person any more. Free text staff typed into audit
--   reasons and ledger notes is their record and is kept as written.
-- * Unfinished work stops: queued and running jobs are cancelled (a running job's lease is
--   fenced, so a worker cannot store an image afterwards) and their credits refunded; the
--   account's remaining balance is then forfeited by one ledger adjustment, and the emptied
--   account row goes. The deletion itself is one audit row (action delete_user).
alter table public.jobs drop constraint jobs_user_id_fkey;
alter table public.credit_ledger drop constraint credit_ledger_user_id_fkey;
-- The account row holds nothing but a balance, zero by then; it goes with the user. The cascade's
-- delete runs inside a trigger (depth 2), which credit_accounts_guard allows.
alter table public.credit_accounts drop constraint credit_accounts_user_id_fkey,
  add constraint credit_accounts_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade;

-- Objects to remove through the Storage API; claimed with a lease so two workers do not both
-- remove them, and retried if a worker dies between claim and finish.
create table private.object_erasures (
  id bigint generated always as identity primary key,
  bucket_id text not null,
  name text not null,
  queued_at timestamptz not null default now(),
  claimed_until timestamptz
);
revoke all on private.object_erasures from public;

-- Runs as the table owner: GoTrue deletes users as its own role, which has no rights on the
-- project's tables.
create function private.erase_deleted_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_credits bigint := 0;
  v_cancelled integer := 0;
  v_balance bigint;
  v_jobs integer;
  v_objects integer;
begin
  perform set_config('jobhealth.actor_id', '', true);
  perform set_config('jobhealth.actor_role', 'service_role', true);
  perform set_config('jobhealth.reason', 'account deleted', true);
  for v_job in
    select * from public.jobs j where j.user_id = old.id and j.status in ('queued', 'running') order by j.id for update
  loop
    v_credits := v_credits + private.refund_job(v_job, 'account deleted');
    update public.jobs j
       set status = 'cancelled', lease_token = null, lease_expires_at = null, finished_at = now(),
           stage = 'cancelled', updated_at = now()
     where j.id = v_job.id;
    v_cancelled := v_cancelled + 1;
  end loop;

  select balance into v_balance from public.credit_accounts where user_id = old.id for update;
  if coalesce(v_balance, 0) > 0 then
    insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
    values (old.id, -v_balance, 'adjustment', 'service_role', 'account deleted: remaining credits forfeited');
  end if;

  update public.jobs j
     set prompt = '', options = '{}'::jsonb, result = null, error_message = null, updated_at = now()
   where j.user_id = old.id;
  get diagnostics v_jobs = row_count;

  insert into private.object_erasures (bucket_id, name)
  select o.bucket_id, o.name from storage.objects o
   where o.bucket_id = 'results' and o.name like old.id::text || '/%';
  get diagnostics v_objects = row_count;

  insert into public.audit_log (actor_id, actor_role, action, target_user_id, reason, credits_moved, detail)
  values (null, 'service_role', 'delete_user', old.id, 'account deleted', v_credits - coalesce(v_balance, 0),
          jsonb_build_object('jobs_blanked', v_jobs, 'jobs_cancelled', v_cancelled,
                             'credits_forfeited', coalesce(v_balance, 0), 'objects_queued', v_objects));
  return old;
end;
$$;
revoke all on function private.erase_deleted_user() from public;

create trigger erase_deleted_user before delete on auth.users
  for each row execute function private.erase_deleted_user();

-- The worker's side of the erasure queue: claim up to p_limit objects for five minutes, remove
-- them through Storage, then finish them. Service role only.
create function public.claim_object_erasures(p_limit integer default 100)
returns table (id bigint, bucket_id text, name text)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_role(array['service_role'], 'claim_object_erasures');
  return query
    update private.object_erasures e set claimed_until = now() + interval '5 minutes'
     where e.id in (select q.id from private.object_erasures q
                     where q.claimed_until is null or q.claimed_until < now()
                     order by q.id limit least(greatest(p_limit, 1), 1000)
                     for update skip locked)
    returning e.id, e.bucket_id, e.name;
end;
$$;

create function public.finish_object_erasures(p_ids bigint[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform private.require_role(array['service_role'], 'finish_object_erasures');
  delete from private.object_erasures e where e.id = any (p_ids);
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
revoke all on function public.claim_object_erasures(integer), public.finish_object_erasures(bigint[]) from public, anon, authenticated;
grant execute on function public.claim_object_erasures(integer), public.finish_object_erasures(bigint[]) to service_role;
