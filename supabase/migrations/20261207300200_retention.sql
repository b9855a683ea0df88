-- How long each kind of data is kept, and the pass that removes what is older.
--
-- A job here is also the end user's record (their gallery) and an accounting record, so the
-- life cycle is per kind of data, not "delete finished jobs":
--   * raw pipeline telemetry is kept for a window, then removed: the timeline and provider calls
--     3 weeks by default (at a million jobs a day they are what the database holds most of:
--     27-46 GB measured at 21 days, 39-66 GB at 30, against a 40 GB budget), an incident's
--     per-minute values and finished alert deliveries 30 days;
--   * the rollups System Health and the alert rules read are kept much longer: minute rows
--     6 weeks, hour rows 400 days, so the charts keep their history after the raw rows go;
--   * jobs (the gallery), the credits ledger, the audit log and incidents are never pruned;
--   * pg_cron's run log (cron.job_run_details, hosted only) is pruned after 7 days, as
--     Supabase's docs advise. realtime.messages is not ours to prune: Realtime drops its daily
--     partitions after a few days (on hosted; the local Realtime does the same).
-- Why these windows and why batched deletes rather than partitions: docs/retention.md, with
-- the measurements in docs/benchmarks.md (growth).
--
-- prune_expired_data() deletes in batches of a few thousand rows found through the tables'
-- BRIN indexes on time, under a 100 ms lock_timeout: nothing the pipeline does takes a lock it
-- conflicts with (it deletes rows nobody reads for update, and inserts never wait on deletes),
-- and should a DDL or VACUUM FULL hold a table it gives up on that table instead of queueing
-- behind it (and everything else queueing behind it). Vacuum reclaims the space for new rows,
-- so a table at its steady state stops growing.
--
-- History that was append-only stays refused for every other hand: the timeline and an
-- incident's events refuse UPDATE and TRUNCATE as before, and DELETE unless the transaction
-- has declared a prune cutoff (jobhealth.prune_cutoff, set only by the pass below) and the row
-- is older than it; an incident's own story (opened, resolved, notes) is never deleted.
-- The timeline's and incident events' triggers are replaced (a brief lock on each table): if
-- something holds one, the deploy fails after 5 s rather than stall the pipeline behind it.
set local lock_timeout = '5s';

create table public.retention_policies (
  kind text primary key,
  label text not null,
  keep_days integer not null,
  -- Bounds a change must stay within: not shorter than what the charts, alert rules and
  -- support's look-ups read, not so long that the table never reaches a steady state.
  min_days integer not null,
  max_days integer not null,
  default_days integer not null,
  updated_at timestamptz not null default now(),
  updated_by uuid,
  -- The last pass over this kind.
  last_pruned_at timestamptz,
  last_prune_ms numeric,
  last_prune_rows bigint,
  last_prune_cutoff timestamptz,
  -- Set when the last pass gave up on this kind (a lock it would have waited for); null once a
  -- pass completes.
  last_prune_error text,
  check (min_days >= 1 and min_days <= max_days),
  check (keep_days between min_days and max_days),
  check (default_days between min_days and max_days)
);

-- Minimums: raw telemetry 7 days (the alert rules read at most a day of it, support looks up a
-- job a user complains about within the week); minute rollups 8 days (System Health's 7-day
-- range reads minute rows when its buckets are not whole hours); hour rollups 91 days (the
-- 90-day range).
insert into public.retention_policies (kind, label, keep_days, min_days, max_days, default_days) values
  ('job_events', 'Job timelines', 21, 7, 365, 21),
  ('provider_calls', 'Gemini call records', 21, 7, 365, 21),
  ('alert_values', 'Incident values (one per minute while open)', 30, 7, 365, 30),
  ('alert_deliveries', 'Finished alert deliveries', 30, 7, 365, 30),
  ('metrics_minute', 'Per-minute rollups', 42, 8, 365, 42),
  ('metrics_hour', 'Per-hour rollups', 400, 91, 3650, 400),
  ('cron_run_details', 'pg_cron run log (hosted)', 7, 1, 90, 7);

-- Table sizes over time, one row per relation per hour (written by the prune pass), so the
-- console can say how fast each table grows without counting rows on a request.
create table public.retention_table_samples (
  sampled_at timestamptz not null,
  relation text not null,
  bytes bigint not null,
  rows bigint not null,
  primary key (relation, sampled_at)
);

alter table public.retention_policies enable row level security;
alter table public.retention_table_samples enable row level security;
revoke all on public.retention_policies, public.retention_table_samples from anon, authenticated, service_role;
grant select on public.retention_policies, public.retention_table_samples to authenticated, service_role;
create policy retention_policies_read on public.retention_policies for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));
create policy retention_table_samples_read on public.retention_table_samples for select to authenticated
  using ((select public.app_role()) in ('support', 'admin'));

-- The prune cutoff a transaction declared, or -infinity: rows at or after it cannot be deleted.
create function private.prune_cutoff() returns timestamptz
language sql stable parallel safe
as $$
  select coalesce(nullif(current_setting('jobhealth.prune_cutoff', true), '')::timestamptz, '-infinity'::timestamptz)
$$;

drop trigger job_events_append_only on public.job_events;
create trigger job_events_no_update before update on public.job_events
  for each row execute function private.forbid_change();
create trigger job_events_delete_expired_only before delete on public.job_events
  for each row when (old.at >= private.prune_cutoff()) execute function private.forbid_change();

drop trigger alert_incident_events_append_only on public.alert_incident_events;
create trigger alert_incident_events_no_update before update on public.alert_incident_events
  for each row execute function private.forbid_change();
create trigger alert_incident_events_delete_expired_values_only before delete on public.alert_incident_events
  for each row when (old.kind <> 'value' or old.at >= private.prune_cutoff()) execute function private.forbid_change();

-- What one kind's pass deletes: the tables and, per table, the time column and which rows are
-- eligible. The only place that names them.
create function private.retention_targets()
returns table (kind text, relation text, time_column text, eligible text)
language sql immutable
as $$
  values
    ('job_events', 'public.job_events', 'at', 'true'),
    ('provider_calls', 'public.provider_calls', 'recorded_at', 'true'),
    ('alert_values', 'public.alert_incident_events', 'at', $q$kind = 'value'$q$),
    ('alert_deliveries', 'public.alert_deliveries', 'created_at', $q$status in ('delivered', 'failed')$q$),
    ('metrics_minute', 'public.metrics_job_minute', 'minute', 'true'),
    ('metrics_minute', 'public.metrics_provider_minute', 'minute', 'true'),
    ('metrics_hour', 'public.metrics_job_hour', 'hour', 'true'),
    ('metrics_hour', 'public.metrics_provider_hour', 'hour', 'true'),
    ('cron_run_details', 'cron.job_run_details', 'end_time', 'end_time is not null')
$$;

-- Deletes up to p_limit eligible rows older than p_cutoff from one table; returns how many.
-- Rows found by time (BRIN on the raw tables, the primary key on the rollups), deleted by ctid.
create function private.prune_batch(p_relation text, p_time_column text, p_eligible text,
                                    p_cutoff timestamptz, p_limit integer)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  perform set_config('jobhealth.prune_cutoff', p_cutoff::text, true);
  execute format(
    'delete from %s where ctid = any (array(select ctid from %s where %I < $1 and (%s) limit $2))',
    p_relation, p_relation, p_time_column, p_eligible)
    using p_cutoff, p_limit;
  get diagnostics v_deleted = row_count;
  perform set_config('jobhealth.prune_cutoff', '', true);
  return v_deleted;
end;
$$;

-- Records each relation's size once an hour (the console's growth per day).
create function private.sample_table_sizes() returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if exists (select 1 from public.retention_table_samples where sampled_at > now() - interval '55 minutes') then
    return 0;
  end if;
  insert into public.retention_table_samples (sampled_at, relation, bytes, rows)
  select now(), s.relation, s.bytes, s.rows from private.table_sizes() s;
  get diagnostics v_count = row_count;
  delete from public.retention_table_samples
   where sampled_at < now() - make_interval(days => (select keep_days from public.retention_policies where kind = 'metrics_minute'));
  return v_count;
end;
$$;

-- Every relation the data life cycle covers, with its size and row count (the planner's
-- estimate once a table is large: an exact count of a large table on every view is the cost
-- this page is meant to show, not add). A partitioned table counts its partitions.
create function private.table_sizes()
returns table (relation text, kind text, bytes bigint, rows bigint)
language sql stable
security definer
set search_path = ''
as $$
  with rels(relation, kind, ord) as (
    values ('public.jobs', 'kept', 1), ('public.credit_ledger', 'kept', 2), ('public.audit_log', 'kept', 3),
           ('storage.objects', 'kept', 4), ('public.alert_incidents', 'kept', 5),
           ('public.job_events', 'job_events', 10), ('public.provider_calls', 'provider_calls', 11),
           ('public.alert_incident_events', 'alert_values', 12), ('public.alert_deliveries', 'alert_deliveries', 13),
           ('public.metrics_job_minute', 'metrics_minute', 20), ('public.metrics_provider_minute', 'metrics_minute', 21),
           ('public.metrics_job_hour', 'metrics_hour', 22), ('public.metrics_provider_hour', 'metrics_hour', 23),
           ('realtime.messages', 'realtime', 30), ('cron.job_run_details', 'cron_run_details', 31)
  ), parts as (
    select r.relation, r.kind, r.ord, c.oid, c.relpages, c.reltuples
      from rels r
      join pg_catalog.pg_class c on c.oid = to_regclass(r.relation)
    union all
    select r.relation, r.kind, r.ord, ch.oid, ch.relpages, ch.reltuples
      from rels r
      join pg_catalog.pg_inherits i on i.inhparent = to_regclass(r.relation)
      join pg_catalog.pg_class ch on ch.oid = i.inhrelid
  )
  select p.relation, p.kind, sum(pg_catalog.pg_total_relation_size(p.oid))::bigint,
         -- A relation this role may not read (a platform table on hosted) keeps the estimate.
         sum(case when (p.relpages < 128 or p.reltuples < 0) and pg_catalog.has_table_privilege(p.oid, 'select')
                  then (xpath('/row/n/text()', pg_catalog.query_to_xml(
                          format('select count(*) as n from %s', p.oid::regclass), false, true, '')))[1]::text::bigint
                  else greatest(p.reltuples, 0)::bigint end)::bigint
    from parts p
   group by p.relation, p.kind, p.ord
   order by p.ord
$$;

-- prune_expired_data(p_batch integer default 5000, p_max_rows integer default 200000) returns jsonb
--   (service_role; every 10 minutes: pg_cron on hosted, the local scheduler locally)
-- One pass: for each kind, delete what is older than its window in batches of p_batch, at most
-- p_max_rows per kind (a backlog is worked off over the next passes instead of in one long
-- transaction), under a 100 ms lock_timeout per kind; records each kind's pass on its policy
-- row, and samples table sizes once an hour. A kind whose lock could not be had within the
-- timeout is skipped and says so on its row; the others still run.
-- Returns {"kinds": {"<kind>": {"rows", "ms", "cutoff"} | {"skipped": "<why>"}}, "rows", "ms"}.
create function public.prune_expired_data(p_batch integer default 5000, p_max_rows integer default 200000)
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
        loop
          v_n := private.prune_batch(v_target.relation, v_target.time_column, v_target.eligible, v_cutoff, p_batch);
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
revoke all on function public.prune_expired_data(integer, integer) from public, anon, authenticated;
grant execute on function public.prune_expired_data(integer, integer) to service_role;

-- set_retention_window(p_kind text, p_days integer, p_reason text) returns public.retention_policies
--   (admin)
-- Changes one kind's window within its bounds and writes one audit row with the window before
-- and after. The next pass applies it.
-- Errors: 42501 not admin; 22023 reason, or days outside the kind's bounds (nothing changes);
-- PT404 no such kind.
create function public.set_retention_window(p_kind text, p_days integer, p_reason text)
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
  if p_days is null or p_days < v_before.min_days or p_days > v_before.max_days then
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
revoke all on function public.set_retention_window(text, integer, text) from public, anon;
grant execute on function public.set_retention_window(text, integer, text) to authenticated;

-- retention_status() returns json   (support, admin)
-- What the Data retention page shows:
-- { "generated_at",
--   "policies": [{"kind", "label", "keep_days", "min_days", "max_days", "default_days",
--                 "updated_at", "last_pruned_at", "last_prune_ms", "last_prune_rows",
--                 "last_prune_cutoff", "last_prune_error"}],
--   "tables": [{"relation", "kind" ("kept" | "realtime" | a policy's kind), "bytes", "rows",
--               "oldest", "bytes_per_day", "rows_per_day"}] }
-- oldest is found near the window's edge through the tables' time indexes, never by reading a
-- whole large table; growth per day compares the latest size sample with the one about a day
-- before it (null until two samples an hour or more apart exist).
-- Errors: 42501 anyone but support and admin.
create function public.retention_status() returns json
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tables json;
begin
  perform private.require_role(array['support', 'admin'], 'retention_status');
  with sizes as (
    select * from private.table_sizes()
  ), latest as (
    select distinct on (s.relation) s.relation, s.sampled_at, s.bytes, s.rows
      from public.retention_table_samples s order by s.relation, s.sampled_at desc
  ), earlier as (
    select distinct on (s.relation) s.relation, s.sampled_at, s.bytes, s.rows
      from public.retention_table_samples s
      join latest l on l.relation = s.relation and s.sampled_at <= l.sampled_at - interval '1 hour'
     order by s.relation, abs(extract(epoch from (l.sampled_at - interval '1 day') - s.sampled_at))
  )
  select json_agg(json_build_object(
           'relation', z.relation, 'kind', z.kind, 'bytes', z.bytes, 'rows', z.rows,
           'oldest', private.oldest_row(z.relation, z.kind),
           'bytes_per_day', round((l.bytes - e.bytes) / (extract(epoch from l.sampled_at - e.sampled_at) / 86400)),
           'rows_per_day', round((l.rows - e.rows) / (extract(epoch from l.sampled_at - e.sampled_at) / 86400))))
    into v_tables
    from sizes z
    left join latest l on l.relation = z.relation
    left join earlier e on e.relation = z.relation;
  return json_build_object(
    'generated_at', now(),
    'policies', (select json_agg(json_build_object(
        'kind', p.kind, 'label', p.label, 'keep_days', p.keep_days, 'min_days', p.min_days,
        'max_days', p.max_days, 'default_days', p.default_days, 'updated_at', p.updated_at,
        'last_pruned_at', p.last_pruned_at, 'last_prune_ms', p.last_prune_ms,
        'last_prune_rows', p.last_prune_rows, 'last_prune_cutoff', p.last_prune_cutoff,
        'last_prune_error', p.last_prune_error) order by p.kind)
      from public.retention_policies p),
    'tables', coalesce(v_tables, '[]'::json));
end;
$$;
revoke all on function public.retention_status() from public, anon;
grant execute on function public.retention_status() to authenticated;

-- The oldest row's time in one relation of table_sizes(). Pruned tables are probed just past
-- their window's edge first (a BRIN range scan of a day), then the whole table; kept tables
-- with an index on time read it from the index.
create function private.oldest_row(p_relation text, p_kind text) returns timestamptz
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_column text;
  v_keep integer;
  v_oldest timestamptz;
begin
  v_column := case p_relation
    when 'public.jobs' then 'created_at' when 'public.credit_ledger' then 'created_at'
    when 'public.audit_log' then 'at' when 'public.alert_incidents' then 'opened_at'
    when 'realtime.messages' then 'inserted_at'
    else (select t.time_column from private.retention_targets() t where t.relation = p_relation) end;
  if v_column is null or to_regclass(p_relation) is null
     or not pg_catalog.has_table_privilege(to_regclass(p_relation), 'select') then
    return null;  -- storage.objects (its rows follow the jobs'), or a platform table not ours to read
  end if;
  select keep_days into v_keep from public.retention_policies where kind = p_kind;
  if v_keep is not null then
    execute format('select min(%I) from %s where %I < $1', v_column, p_relation, v_column)
      into v_oldest using now() - make_interval(days => v_keep - 1);
    if v_oldest is not null then
      return v_oldest;
    end if;
  end if;
  execute format('select min(%I) from %s', v_column, p_relation) into v_oldest;
  return v_oldest;
end;
$$;

revoke all on all functions in schema private from public;

-- Hosted: every 10 minutes. pg_cron's own run log is one of the kinds it prunes.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    perform cron.schedule('jobhealth-prune-expired-data', '*/10 * * * *', 'select public.prune_expired_data()');
  end if;
end
$$;
