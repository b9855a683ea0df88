-- One trace per job: the W3C trace context the job's spans hang under (docs/tracing.md).
--
-- jobs.traceparent holds a W3C `traceparent` (version 00: "00-<trace id>-<parent span id>-<flags>").
-- It is set when the job is inserted, by a trigger, so every way a job is made (create_job,
-- generate_again, the seed) gets one and no function's signature changes:
--   * the request's own `traceparent` header (PostgREST hands every request's headers to SQL as
--     `request.headers`; the app's server sends the header of the span that made the job) is kept
--     when it is well-formed and names a trace no other job is on;
--   * anything else (no header, a malformed one, another job's trace) starts a fresh trace here,
--     never an error. So a job always has its own trace, and nothing a client sends can put its
--     job on another job's trace: trace ids are unique among jobs, checked under a lock on the
--     trace id so two concurrent inserts cannot both take one.
-- The worker reads the column from the row claim_jobs returns (it returns the whole job row) and
-- continues the trace. The column is never in a Realtime message (those name their fields).
set local lock_timeout = '5s';

alter table public.jobs add column traceparent text;
-- Rows written before this migration have no trace (null, which the check accepts); every new
-- one has. NOT VALID and never validated: the rows it would read are all null, and reading them
-- would hold the table's lock for nothing.
alter table public.jobs add constraint jobs_traceparent_format
  check (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$') not valid;

-- The uniqueness of a job's trace id, and the lookup from a trace id an operator found in their
-- tracing tool to the job. Built in place: before the first release the jobs table is small, and
-- CREATE INDEX CONCURRENTLY cannot run in a migration's transaction (.squawk.toml).
-- squawk-ignore require-concurrent-index-creation
create unique index jobs_trace_id_idx on public.jobs ((substr(traceparent, 4, 32))) where traceparent is not null;

-- private.valid_traceparent(p_value text) returns boolean
-- W3C Trace Context, level 1, version 00 exactly: lower-case hex, neither id all zeros. Other
-- versions and upper case are refused (the spec says a receiver must not guess), so they start
-- a new trace.
create function private.valid_traceparent(p_value text) returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_value ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
    and substr(p_value, 4, 32) <> repeat('0', 32)
    and substr(p_value, 37, 16) <> repeat('0', 16), false);
$$;
revoke all on function private.valid_traceparent(text) from public, anon, authenticated, service_role;

-- private.new_traceparent() returns text
-- A fresh trace: the trace id is a random uuid's 32 hex digits (122 random bits). The parent
-- span id is the trace id's first 16 digits: the mark that the database started this trace,
-- so the worker exports that span, the job's root (`job.enqueue`), and the trace has no missing
-- parent. Flag 01: sampled, unless the worker's sampler says otherwise (docs/tracing.md).
create function private.new_traceparent() returns text
language sql
volatile
set search_path = ''
as $$
  select '00-' || t || '-' || substr(t, 1, 16) || '-01'
    from (select replace(extensions.gen_random_uuid()::text, '-', '') as t) fresh;
$$;
revoke all on function private.new_traceparent() from public, anon, authenticated, service_role;

-- private.set_job_traceparent() trigger, before insert on public.jobs
create function private.set_job_traceparent() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_headers text := nullif(current_setting('request.headers', true), '');
  v_incoming text;
begin
  if v_headers is not null then
    v_incoming := btrim(v_headers::jsonb ->> 'traceparent');
  end if;
  if private.valid_traceparent(v_incoming) then
    -- Serialise inserts naming the same trace, so the check below sees a concurrent one.
    perform pg_advisory_xact_lock(hashtextextended('job_trace:' || substr(v_incoming, 4, 32), 0));
    if not exists (select 1 from public.jobs
                    where traceparent is not null and substr(traceparent, 4, 32) = substr(v_incoming, 4, 32)) then
      new.traceparent := v_incoming;
      return new;
    end if;
  end if;
  new.traceparent := private.new_traceparent();
  return new;
end;
$$;
revoke all on function private.set_job_traceparent() from public, anon, authenticated, service_role;

create trigger jobs_set_traceparent before insert on public.jobs
  for each row execute function private.set_job_traceparent();
