-- Result images that expire: optional, off by default.
--
-- A job's image and thumbnail are the largest thing it leaves (in Storage, plus their two rows
-- in storage.objects), and they were kept with the job for ever. An operator may now choose to
-- keep them N days (7 to 3,650): the retention pass then removes the images of jobs that
-- finished longer ago than that, and the job says when its image expired. Off (null) unless an
-- admin turns it on, with a reason, like every other window.
--
-- * The objects go through the Storage API, never by a DELETE on storage.objects (hosted Storage
--   refuses it, and would leave the files behind): the pass queues them on the same erasure queue
--   account and job deletion use (private.object_erasures), which wakes the worker, and the
--   worker removes them (supabase/functions/job-worker/object-erasure.ts). One way to erase an
--   object, whoever asks.
-- * The job row stays, with its ledger, timeline and audit: result becomes null (as after a
--   deletion: nothing points at an object that is gone, so nothing signs a URL for it) and
--   jobs.image_expired_at says when. The prompt stays, so "Generate again" still works.
-- * Bounded: at most 20,000 jobs a pass (every 10 minutes: 2.9 million a day, above the million
--   a day the growth figures assume), in batches found through a partial index of the jobs that
--   still have an image, oldest first; rows another transaction holds are skipped, never waited
--   for, and taken by a later pass.
-- * No live message: an image expiring weeks after it was made is not news to an open tab, and a
--   pass of 20,000 jobs would otherwise send 40,000 Realtime messages at once (the console's
--   topic included). A page shows the expiry when it next reads the job.
--
-- Adding a column and an index to jobs waits for its lock behind the running claims; bounded,
-- so a deploy that cannot get it fails and is retried instead of stalling the queue behind it.
set local lock_timeout = '5s';

alter table public.jobs add column image_expired_at timestamptz;
comment on column public.jobs.image_expired_at is
  'When the job''s stored images were expired by the result-image retention window (result is null from then on).';

-- The jobs that still have an image, by when they finished: the pass reads the oldest ones
-- before its cutoff and stops at its batch. result is set only by a success and cleared by a
-- retry, a deletion or an expiry, so this holds succeeded jobs with an image and nothing else;
-- one entry is written per job, when it succeeds. Before the first release the table holds a
-- test project's rows, so it is built in place (a project with production rows builds it by hand
-- with CREATE INDEX CONCURRENTLY first, same name; this then finds it).
-- squawk-ignore require-concurrent-index-creation
create index if not exists jobs_image_expiry_idx on public.jobs (finished_at) where result is not null;

-- A window may be off (null) only where its default is off (the result images'); every other
-- window always has a value, now held by the constraint below instead of NOT NULL. Its readers
-- (retention_status, the console, the job page's pruned notice) handle null from this migration
-- on. The table holds one row per kind, so the constraint's check of existing rows is instant.
-- squawk-ignore ban-drop-not-null
alter table public.retention_policies alter column keep_days drop not null;
-- squawk-ignore ban-drop-not-null
alter table public.retention_policies alter column default_days drop not null;
-- squawk-ignore constraint-missing-not-valid
alter table public.retention_policies add constraint retention_policies_off_only_where_default check (keep_days is not null or default_days is null);

-- At least a week: a person who made an image has time to come back for it, and support has it
-- while a complaint about it is fresh (the timelines' minimum too).
insert into public.retention_policies (kind, label, keep_days, min_days, max_days, default_days)
values ('result_images', 'Result images (and thumbnails)', null, 7, 3650, null);

-- private.expire_result_images(p_from timestamptz, p_cutoff timestamptz, p_limit integer)
--   returns (expired integer, objects_queued integer, reached timestamptz)
-- Up to p_limit jobs with an image that finished in [p_from, p_cutoff), oldest first: queues
-- their objects (<user_id>/<job_id>..., every image, thumbnail and leftover of an earlier
-- attempt, the prefix erase_job_contents uses) for erasure, sets result null and
-- image_expired_at. reached is the newest finished_at expired: the pass hands it back as the
-- next batch's p_from, so no batch steps over the rows earlier ones already expired.
create function private.expire_result_images(p_from timestamptz, p_cutoff timestamptz, p_limit integer,
                                             out expired integer, out objects_queued integer, out reached timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_users uuid[];
  v_n integer;
begin
  select array_agg(j.id order by j.finished_at), array_agg(j.user_id order by j.finished_at), max(j.finished_at)
    into v_ids, v_users, reached
    from (select j.id, j.user_id, j.finished_at from public.jobs j
           where j.result is not null and j.finished_at >= p_from and j.finished_at < p_cutoff
           order by j.finished_at
           limit p_limit
           for update skip locked) j;
  expired := coalesce(cardinality(v_ids), 0);
  objects_queued := 0;
  if expired = 0 then
    return;
  end if;

  -- One prefix look-up per job (the name_prefix_search index): a constant LIKE pattern per
  -- statement is what lets the planner use it.
  for i in 1 .. expired loop
    insert into private.object_erasures (bucket_id, name)
    select o.bucket_id, o.name from storage.objects o
     where o.bucket_id = 'results' and o.name like v_users[i]::text || '/' || v_ids[i]::text || '%';
    get diagnostics v_n = row_count;
    objects_queued := objects_queued + v_n;
  end loop;

  -- No timeline row (no transition) and no broadcast (header): jobs_after_update stands down
  -- while jobhealth.events_written is on, as it does for complete_job's own writes.
  perform set_config('jobhealth.events_written', 'on', true);
  update public.jobs j
     set result = null, image_expired_at = now(), updated_at = now()
   where j.id = any (v_ids);
  perform set_config('jobhealth.events_written', '', true);
end;
$$;
revoke all on function private.expire_result_images(timestamptz, timestamptz, integer) from public;

-- set_retention_window(p_kind text, p_days integer, p_reason text) returns public.retention_policies
--   (admin)
-- As in 20261207300200_retention.sql, and p_days null turns off a window whose default is off
-- (the result images'); any other window refuses null with the same bounds message.
-- Errors: 42501 not admin; 22023 reason, or days outside the kind's bounds (nothing changes);
-- PT404 no such kind.
create or replace function public.set_retention_window(p_kind text, p_days integer, p_reason text)
returns public.retention_policies
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'set_retention_window');
  v_reason text := private.check_reason(p_reason);
  v_before public.retention_policies;
  v_after public.retention_policies;
begin
  select * into v_before from public.retention_policies where kind = p_kind for update;
  if not found then
    raise exception 'no retention policy "%"', p_kind using errcode = 'PT404';
  end if;
  if (p_days is null and v_before.default_days is not null)
     or p_days < v_before.min_days or p_days > v_before.max_days then
    raise exception '% must be kept between % and % days (asked: % days)',
      v_before.label, v_before.min_days, v_before.max_days, coalesce(p_days::text, 'no value')
      using errcode = '22023';
  end if;
  update public.retention_policies
     set keep_days = p_days, updated_at = now(), updated_by = auth.uid()
   where kind = p_kind
  returning * into v_after;
  perform private.write_audit('set_retention_window', '{}', v_reason,
    jsonb_build_object('keep_days', v_before.keep_days), jsonb_build_object('keep_days', v_after.keep_days), 0, null,
    jsonb_build_object('kind', p_kind));
  return v_after;
end;
$$;

-- prune_expired_data(p_batch integer default 5000, p_max_rows integer default 200000) returns jsonb
-- As in 20261208270100_time_indexes_after_pruning.sql, and the result images' window: off, it is
-- passed over ({"off": true}); on, up to 20,000 jobs' images (in batches of at most 1,000) are
-- expired through private.expire_result_images, its "rows" counting jobs and "objects" the
-- objects queued for erasure.
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
  v_objects bigint;
  v_n integer;
  v_o integer;
  v_image_batch integer := least(p_batch, 1000);
  v_image_max integer := least(p_max_rows, 20000);
  v_total bigint := 0;
  v_result jsonb := '{}'::jsonb;
begin
  perform private.require_role(array['service_role'], 'prune_expired_data');
  if p_batch is null or p_batch < 1 or p_batch > 100000 or p_max_rows is null or p_max_rows < p_batch then
    raise exception 'batch must be 1-100000 and max rows at least one batch' using errcode = '22023';
  end if;
  for v_policy in select * from public.retention_policies order by kind loop
    if v_policy.keep_days is null then
      v_result := v_result || jsonb_build_object(v_policy.kind, jsonb_build_object('off', true));
      continue;
    end if;
    v_start := clock_timestamp();
    v_cutoff := now() - make_interval(days => v_policy.keep_days);
    v_rows := 0;
    v_objects := null;
    begin
      if v_policy.kind = 'result_images' then
        v_objects := 0;
        v_from := '-infinity';
        loop
          select e.expired, e.objects_queued, coalesce(e.reached, v_from) into v_n, v_o, v_from
            from private.expire_result_images(v_from, v_cutoff, least(v_image_batch, v_image_max - v_rows::integer)) e;
          v_rows := v_rows + v_n;
          v_objects := v_objects + v_o;
          exit when v_n < v_image_batch or v_rows >= v_image_max;
        end loop;
      end if;
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
      v_result := v_result || jsonb_build_object(v_policy.kind, jsonb_strip_nulls(jsonb_build_object(
        'rows', v_rows, 'objects', v_objects,
        'ms', round(extract(epoch from clock_timestamp() - v_start)::numeric * 1000, 1), 'cutoff', v_cutoff)));
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
