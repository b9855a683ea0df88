-- What one job costs, part six: the fixed work of every write of a job.
--
-- One job at a time, a job's Postgres CPU is mostly what each statement costs around the job
-- itself. Measured piece by piece with instruction counts of one backend (docs/benchmarks.md,
-- "The claim and the completion, piece by piece"), a claim_jobs(1) and a complete_jobs of one
-- cost about 3.7 M instructions per job, of which the rules that jobs' CHECK constraints hold,
-- evaluated on every UPDATE of a job, were some 0.4 M; half of that was one regular expression.
-- - The trace context's format becomes a rule of jobs_row_valid (the constraint
--   jobs_traceparent_format goes), checked with a pattern that is cheap to match; the rules are IF
--   conditions, so what PL/pgSQL prepares in each transaction is the conditions, not every
--   broken rule's message.
-- - jobs_result_shape checks the result's shape only when there is a result: the claim, each
--   heartbeat, a release or a failure write a job without one, and each paid for a PL/pgSQL call
--   to be told that null is valid. The rule is the same for every row.
-- - claim_jobs reads the caller's role and sets the actor by assignment instead of PERFORM, as
--   complete_jobs does; otherwise as in 20261207500100_job_cost_claim_and_record.sql.
-- What the rules hold is unchanged but for one thing: a traceparent of zeros, which the insert
-- trigger never stores, is now refused by the table too.
set local lock_timeout = '5s';

-- NOT VALID, as in 20261208310200_job_result_shape.sql: the rule is unchanged for every row, so
-- there is nothing to check again under the table's lock.
alter table public.jobs drop constraint jobs_result_shape;
alter table public.jobs add constraint jobs_result_shape check (result is null or private.is_job_result(result)) not valid;

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
-- though a traceparent never changes after its insert: about 0.2 M of a claimed-and-completed
-- job's 3.7 M instructions. Here it is one more rule of the call every write already makes. It
-- is stricter than the constraint was by the ids of zeros, which no job has: the insert trigger
-- keeps only a valid incoming traceparent and otherwise makes one from a random uuid.
-- The rules are IF conditions rather than one CASE: PL/pgSQL prepares each expression again in
-- every transaction, and a CASE is prepared whole, each broken rule's message with it; a
-- condition's message is prepared only when that rule is broken (about 0.04 M instructions a job).
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

-- claim_jobs: contract, picking, budget and lease as in 20261207500100_job_cost_claim_and_record.sql.
-- Its grants are kept by CREATE OR REPLACE.
create or replace function public.claim_jobs(
  p_worker_id text, p_limit integer default 1, p_lease_seconds integer default 60, p_with_budget boolean default false
) returns setof public.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ignored text;
begin
  -- Assignments, not PERFORM: a PERFORM runs its SELECT through the executor, an assignment of a
  -- plain function call is a simple expression (as in complete_jobs).
  v_ignored := private.require_role(array['service_role'], 'claim_jobs');
  if p_worker_id is null or btrim(p_worker_id) = '' or length(p_worker_id) > 200 then
    raise exception 'worker id is required (at most 200 characters)' using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 500 then
    raise exception 'limit must be between 1 and 500' using errcode = '22023';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 5 or p_lease_seconds > 3600 then
    raise exception 'lease must be between 5 and 3600 seconds' using errcode = '22023';
  end if;
  v_ignored := private.set_actor('worker');

  -- An open circuit becomes half-open after its cool-down. Touches a row only at that moment.
  update public.model_health
     set circuit_state = 'half_open', half_open_at = now(), updated_at = now()
   where circuit_state = 'open' and opened_at <= now() - private.circuit_cooldown();

  if p_with_budget then
    return query
    with budget as (
      select m.id,
             least(m.rate_per_minute::double precision,
                   h.budget_tokens + extract(epoch from now() - h.budget_refilled_at) * m.rate_per_minute / 60.0) as tokens,
             case when h.circuit_state = 'closed' then p_limit
                  when not exists (
                    select 1 from public.jobs r
                     where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at) then 1
                  else 0 end as slots
        from public.models m join public.model_health h on h.model_id = m.id
       where m.enabled and not m.paused and h.circuit_state in ('closed', 'half_open')
         and (h.retry_after_until is null or h.retry_after_until <= now())
         and exists (select 1 from public.jobs q where q.status = 'queued' and q.run_at <= now() and q.model_id = m.id)
       order by m.id
         for update of h
    ), picked as (
      select p.id, b.id as model_id
        from budget b
       cross join lateral (
         select j.id, j.priority, j.run_at from public.jobs j
          where j.status = 'queued' and j.run_at <= now() and j.model_id = b.id
          order by j.priority desc, j.run_at, j.id
          limit least(b.slots, floor(b.tokens)::integer)
            for update skip locked) p
       order by p.priority desc, p.run_at, p.id
       limit p_limit
    ), spent as (
      update public.model_health h
         set budget_tokens = b.tokens - s.n, budget_refilled_at = now()
        from (select model_id, count(*) as n from picked group by model_id) s
        join budget b on b.id = s.model_id
       where h.model_id = s.model_id
    )
    update public.jobs j
       set status = 'running',
           attempt = j.attempt + 1,
           lease_token = extensions.gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           worker_id = p_worker_id,
           attempted_at = now(),
           -- The worker calls Gemini at once with the budget it holds: the owner sees it start.
           progress = 5,
           stage = 'generating',
           updated_at = now()
      from picked
     where j.id = picked.id
    returning j.*;
    return;
  end if;

  return query
  with ready_models as (
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused and h.circuit_state = 'closed'
       and (h.retry_after_until is null or h.retry_after_until <= now())
  ), probe_models as (
    select m.id
      from public.models m join public.model_health h on h.model_id = m.id
     where m.enabled and not m.paused and h.circuit_state = 'half_open'
       and (h.retry_after_until is null or h.retry_after_until <= now())
       and not exists (
         select 1 from public.jobs r
          where r.model_id = m.id and r.status = 'running' and r.attempted_at >= h.half_open_at)
  ), ready_pick as (
    select j.id
      from public.jobs j
     where j.status = 'queued' and j.run_at <= now()
       and j.model_id in (select id from ready_models)
     order by j.priority desc, j.run_at, j.id
     limit p_limit
       for update skip locked
  ), probe_pick as (
    select p.id
      from probe_models pm
     cross join lateral (
       select j.id from public.jobs j
        where j.status = 'queued' and j.run_at <= now() and j.model_id = pm.id
        order by j.priority desc, j.run_at, j.id
        limit 1
          for update skip locked) p
  ), picked as (
    select id from ready_pick
    union all
    select id from probe_pick
    limit p_limit
  )
  update public.jobs j
     set status = 'running',
         attempt = j.attempt + 1,
         lease_token = extensions.gen_random_uuid(),
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         worker_id = p_worker_id,
         attempted_at = now(),
         progress = 0,
         stage = 'claimed',
         updated_at = now()
    from picked
   where j.id = picked.id
  returning j.*;
end;
$$;
