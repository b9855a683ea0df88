-- The timeline's and the calls' time indexes become B-trees, and the retention pass walks each
-- table forward in time instead of starting over from its oldest row with every batch.
--
-- BRIN summarises each range of 128 pages by the smallest and largest time in it, and never
-- narrows a summary. That is exact for a table only ever appended to in time order, which these
-- two were until retention. Once a pass deletes the oldest rows and vacuum marks their space
-- free, new rows fill it: a range that held rows from two months ago now also holds this
-- minute's, its summary spans both, and a read of "the last minute" reads it whole. Measured on
-- a 60-day history of a million jobs and a million calls with new rows written into free space
-- of old pages, as they are after a pass and a vacuum: reading the 700 calls since the rollups'
-- watermark took 327 ms through BRIN (13,904 pages, every page of the table, read and 1,000,000
-- rows rechecked) and 22 ms through a B-tree; the 2,100 events 1.9 ms. That tail is read by the
-- rollup and the alert rules every minute and by every System Health view.
-- A B-tree on a timestamp costs about 22 bytes a row (64 MB for 3 million events), which the
-- growth benchmark counts in what retention keeps bounded; inserts in time order go to its
-- rightmost page.
--
-- The tables are built in place (CONCURRENTLY cannot run inside a migration's transaction,
-- docs/pipeline.md): before the first release they hold a test project's rows, and the build
-- takes a share lock that holds inserts for the seconds it lasts. A project with weeks of
-- production rows builds the two indexes by hand with CREATE INDEX CONCURRENTLY first (same
-- names); this file then finds them and only drops the BRIN indexes.
set local lock_timeout = '5s';

-- squawk-ignore require-concurrent-index-creation
create index if not exists job_events_at_idx on public.job_events (at);
-- squawk-ignore require-concurrent-index-creation
create index if not exists provider_calls_recorded_idx on public.provider_calls (recorded_at);
-- Dropping an index takes the table's exclusive lock for an instant (no scan), bounded by the
-- lock_timeout above; CONCURRENTLY cannot run in the migration's transaction.
-- squawk-ignore require-concurrent-index-deletion
drop index public.job_events_at_brin;
-- squawk-ignore require-concurrent-index-deletion
drop index public.provider_calls_recorded_brin;

-- prune_batch(p_relation, p_time_column, p_eligible, p_from, p_cutoff, p_limit)
--   returns (deleted integer, reached timestamptz)
-- Deletes up to p_limit eligible rows with p_from <= time < p_cutoff, oldest first, and returns
-- how many and the newest time it deleted. The pass hands that time back as the next batch's
-- p_from: rows deleted earlier in the same transaction are dead but still in the index until
-- vacuum, and without the lower bound every batch walked all of them again (the 40th batch of a
-- 200,000-row pass stepped over 195,000 dead entries before its first live row).
drop function private.prune_batch(text, text, text, timestamptz, integer);
create function private.prune_batch(p_relation text, p_time_column text, p_eligible text,
                                    p_from timestamptz, p_cutoff timestamptz, p_limit integer,
                                    out deleted integer, out reached timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform set_config('jobhealth.prune_cutoff', p_cutoff::text, true);
  execute format(
    'with gone as (
       delete from %1$s where ctid = any (array(
         select ctid from %1$s where %2$I >= $1 and %2$I < $2 and (%3$s) order by %2$I limit $3))
       returning %2$I)
     select count(*)::integer, max(%2$I) from gone',
    p_relation, p_time_column, p_eligible)
    into deleted, reached
    using p_from, p_cutoff, p_limit;
  perform set_config('jobhealth.prune_cutoff', '', true);
end;
$$;
revoke all on function private.prune_batch(text, text, text, timestamptz, timestamptz, integer) from public;

-- prune_expired_data(p_batch integer default 5000, p_max_rows integer default 200000) returns jsonb
-- As in 20261207300200_retention.sql; each target's batches now follow on from the last one's
-- newest deleted row (private.prune_batch above).
create or replace function public.prune_expired_data(p_batch integer default 5000, p_max_rows integer default 200000)
returns jsonb
language plpgsql
security definer
set search_path = ''
set lock_timeout = '100ms'
as $$
declare
  v_policy public.retention_policies;
  v_target record;
  v_start timestamptz;
  v_pass_start timestamptz := clock_timestamp();
  v_cutoff timestamptz;
  v_from timestamptz;
  v_rows bigint;
  v_n integer;
  v_total bigint := 0;
  v_result jsonb := '{}'::jsonb;
begin
  perform private.require_role(array['service_role'], 'prune_expired_data');
  if p_batch is null or p_batch < 1 or p_batch > 100000 or p_max_rows is null or p_max_rows < p_batch then
    raise exception 'batch must be 1-100000 and max rows at least one batch' using errcode = '22023';
  end if;
  for v_policy in select * from public.retention_policies order by kind loop
    v_start := clock_timestamp();
    v_cutoff := now() - make_interval(days => v_policy.keep_days);
    v_rows := 0;
    begin
      for v_target in select * from private.retention_targets() t where t.kind = v_policy.kind loop
        continue when to_regclass(v_target.relation) is null;  -- cron.job_run_details: hosted only
        v_from := '-infinity';
        loop
          select b.deleted, coalesce(b.reached, v_from) into v_n, v_from
            from private.prune_batch(v_target.relation, v_target.time_column, v_target.eligible,
                                     v_from, v_cutoff, p_batch) b;
          v_rows := v_rows + v_n;
          exit when v_n < p_batch or v_rows >= p_max_rows;
        end loop;
      end loop;
      update public.retention_policies
         set last_pruned_at = now(), last_prune_ms = round(extract(epoch from clock_timestamp() - v_start)::numeric * 1000, 1),
             last_prune_rows = v_rows, last_prune_cutoff = v_cutoff, last_prune_error = null
       where kind = v_policy.kind;
      v_result := v_result || jsonb_build_object(v_policy.kind, jsonb_build_object(
        'rows', v_rows, 'ms', round(extract(epoch from clock_timestamp() - v_start)::numeric * 1000, 1), 'cutoff', v_cutoff));
      v_total := v_total + v_rows;
    exception when lock_not_available then
      -- The subtransaction's deletes are undone; the rows are still there for the next pass.
      update public.retention_policies
         set last_prune_error = 'skipped: ' || sqlerrm, last_pruned_at = now()
       where kind = v_policy.kind;
      v_result := v_result || jsonb_build_object(v_policy.kind, jsonb_build_object('skipped', sqlerrm));
    end;
  end loop;
  perform private.sample_table_sizes();
  return jsonb_build_object('kinds', v_result, 'rows', v_total,
                            'ms', round(extract(epoch from clock_timestamp() - v_pass_start)::numeric * 1000, 1));
end;
$$;
