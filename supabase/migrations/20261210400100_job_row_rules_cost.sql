-- What one job costs, part six: the rules checked on every write of a job.
--
-- One job at a time, a job's Postgres CPU is mostly what each statement costs around the job
-- itself. Measured piece by piece with instruction counts of one backend (docs/benchmarks.md,
-- "The claim and the completion, piece by piece"), a claim_jobs(1) and a complete_jobs of one
-- cost about 3.7 M instructions per job, of which the rules that jobs' CHECK constraints hold,
-- evaluated on every UPDATE of a job, were some 0.4 M; more than half of that was the regular
-- expression of jobs_traceparent_format.
-- - The trace context's format becomes a rule of jobs_row_valid (the constraint
--   jobs_traceparent_format goes), checked with a pattern that is cheap to match.
-- - jobs_row_valid's rules are IF conditions, so what PL/pgSQL prepares again in each
--   transaction is the conditions, not every broken rule's message.
-- Together about 0.2 M instructions less per job one at a time (5 %), 0.08 M at 50 a call. What the
-- rules hold is unchanged but for one thing: a traceparent of zeros, which the insert trigger
-- never stores, is now refused by the table too.
set local lock_timeout = '5s';

-- private.valid_traceparent(p_value text) returns boolean
-- As in 20261208280100_job_trace_context.sql (W3C Trace Context level 1, version 00 exactly:
-- lower-case hex, neither id all zeros), with a pattern without counted repetition: Postgres
-- builds a pattern's automaton states as it matches, on every match, and '[0-9a-f]{32}' makes
-- many of them (about 0.08 M instructions a match, 3 to 4 times this spelling; taking the hex
-- digits out with translate() cost as much as the counted pattern). The same strings pass: 55
-- characters, "00-" then three runs of lower-case hex separated by dashes at the 36th and the
-- 53rd character, is exactly "00-", 32 digits, "-", 16, "-", 2. No search_path of its own: it
-- reads no table and calls only built-ins, and without the setting a caller's plan takes the
-- expression in (inlined) instead of calling a function.
create or replace function private.valid_traceparent(p_value text) returns boolean
language sql
immutable
as $$
  select coalesce(length(p_value) = 55
    and substr(p_value, 36, 1) = '-' and substr(p_value, 53, 1) = '-'
    and p_value ~ '^00-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$'
    and substr(p_value, 4, 32) <> repeat('0', 32)
    and substr(p_value, 37, 16) <> repeat('0', 16), false);
$$;

-- private.jobs_row_valid(j public.jobs) returns boolean, constraint jobs_row_valid
-- As in 20261123000200_tables.sql, and a job's trace context is one of its rules: null (a job
-- made before traces) or valid (private.valid_traceparent). That rule was the constraint
-- jobs_traceparent_format, a regular expression evaluated again on every UPDATE of a job,
-- though a traceparent never changes after its insert: about 0.26 M of a claimed-and-completed
-- job's 3.7 M instructions. Here it is one more rule of the call every write already makes. It
-- is stricter than the constraint was by the ids of zeros, which no job has: the insert trigger
-- keeps only a valid incoming traceparent and otherwise makes one from a random uuid.
-- The rules are IF conditions rather than one CASE: PL/pgSQL prepares each expression again in
-- every transaction, and a CASE is prepared whole, each broken rule's message with it; a
-- condition's message is prepared only when that rule is broken (0.04 to 0.1 M instructions a job).
create or replace function private.jobs_row_valid(j public.jobs) returns boolean
language plpgsql immutable
as $$
declare
  v_rule text;
begin
  -- Each rule once: the first broken one names itself, a valid row breaks none.
  if not j.status = any ('{queued,running,succeeded,failed,cancelled}'::text[]) then
    v_rule := format('status must be queued, running, succeeded, failed or cancelled, not %s', j.status);
  elsif (j.status = 'running') <> (j.lease_token is not null and j.lease_expires_at is not null) then
    v_rule := case when j.status = 'running'
                then 'a running job must hold a lease (lease_token and lease_expires_at)'
                else format('only a running job holds a lease, and this one is %s', j.status) end;
  elsif not j.progress between 0 and 100 then
    v_rule := format('progress must be between 0 and 100, not %s', j.progress);
  elsif j.attempt < 0 then
    v_rule := format('attempt must be 0 or more, not %s', j.attempt);
  elsif j.max_attempts < 1 then
    v_rule := format('max_attempts must be 1 or more, not %s', j.max_attempts);
  elsif j.credits_cost < 0 then
    v_rule := format('credits_cost must be 0 or more, not %s', j.credits_cost);
  elsif j.charge_seq < 1 then
    v_rule := format('charge_seq must be 1 or more, not %s', j.charge_seq);
  elsif j.traceparent is not null and not private.valid_traceparent(j.traceparent) then
    v_rule := 'traceparent must be a W3C trace context of version 00 (lower-case hex, neither id all zeros)';
  else
    return true;
  end if;
  raise exception 'new row for relation "jobs" violates check constraint "jobs_row_valid"'
    using errcode = '23514', detail = v_rule, schema = 'public', table = 'jobs', constraint = 'jobs_row_valid';
end;
$$;
alter table public.jobs drop constraint jobs_traceparent_format;
