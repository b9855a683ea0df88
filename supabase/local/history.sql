-- A day of realistic history for a local database, so System Health's charts are alive on the
-- first `npm run dev`. Local only, applied once per database by the stack CLI (recorded in
-- supabase_migrations.seed_files as 'supabase/local/history.sql'), never by tests, whose
-- databases must hold only what seed.sql gives them.
--
-- Who: 40 generated customers (customer-001@example.com ... customer-040@example.com) without
-- a password: nobody signs in as them, and the demo accounts' balances and jobs stay as seeded.
-- What, over the 24 hours before now(), busier in the day than at night:
--   * about 3,000 jobs, 4 in 5 on the flash model, the rest on pro; every job finished:
--     about 96% succeeded (about 3% of them after a retried first attempt: a 429 honouring
--     Retry-After, a 503 or a timeout), 3% failed and refunded (a safety block, or three
--     failed attempts), 1% cancelled while queued and refunded; about 7% of the calls fail;
--   * one job_events row per transition, attributed as the functions attribute them;
--   * one provider_calls row per attempt: log-normal latency (flash p50 about 6 s, pro about
--     14 s) with a tail, 429s fast, timeouts at the worker's 50 s call timeout, cost per successful call;
--   * credits through the ledger: a starting grant per customer, a charge per job, a refund
--     per failed or cancelled job, so balance = sum(ledger) holds and rollups count refunds;
-- then rollup_metrics() rolls it up as the scheduler would.
--
-- Speed: set-based, about a second. jobs, job_events and provider_calls are written with
-- session_replication_role = replica: their triggers would refuse a job inserted already
-- finished, write a second timeline, and broadcast every historical change to live admin
-- consoles. What those triggers guarantee is kept by construction here: legal transitions
-- only, one event per transition, the lease columns null on finished jobs. The ledger is
-- written with its triggers on, so balances, the refund-matches-charge check and the
-- one-refund-per-charge index all run as usual.

create temporary table history_jobs on commit drop as
with customers as (
  select g as n,
         ('00000000-0000-4000-8000-' || lpad(to_hex(0xc000 + g), 12, '0'))::uuid as user_id
    from generate_series(1, 40) g
), slots as (
  -- One slot a minute; a job in a slot with a probability that follows the day (0.8 to 3 a
  -- minute): peaks in the afternoon, a trough at night.
  select now() - interval '24 hours' + m * interval '1 minute' as minute_start, m
    -- The last jobs start 10 minutes before now, so even a third attempt has ended by now.
    from generate_series(0, 24 * 60 - 10) m
), draws as (
  select s.minute_start + random() * interval '59 seconds' as created_at, 1 + floor(random() * 40)::integer as customer
    from slots s
   cross join lateral generate_series(1, 4) k
   where random() < (0.2 + 0.55 * (1 + sin(2 * pi() * (extract(hour from s.minute_start) - 9) / 24.0)) / 2)
)
select extensions.gen_random_uuid() as id,
       c.user_id,
       case when random() < 0.8 then 'gemini-2.5-flash-image' else 'gemini-3-pro-image-preview' end as model_id,
       d.created_at,
       random() as fate,
       random() as shape,
       (array['a lighthouse at dusk', 'a fox in a snowy forest', 'a bowl of ramen, studio light',
              'an isometric city block', 'a watercolor of a harbour', 'a robot reading a book',
              'a mountain lake at sunrise', 'a neon street in the rain', 'a cat astronaut',
              'a botanical illustration of a fern'])[1 + floor(random() * 10)::integer] as prompt
  from draws d
  join customers c on c.n = d.customer;

-- The customers, then their starting credits (through the ledger, triggers on).
insert into auth.users (id, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at)
select ('00000000-0000-4000-8000-' || lpad(to_hex(0xc000 + g), 12, '0'))::uuid,
       'customer-' || lpad(g::text, 3, '0') || '@example.com', now() - interval '30 days',
       '{"provider": "email", "providers": ["email"]}', jsonb_build_object('name', 'Customer ' || g),
       now() - interval '30 days'
  from generate_series(1, 40) g
on conflict (id) do nothing;
insert into public.credit_ledger (user_id, delta, reason, actor_role, note, created_at)
select ('00000000-0000-4000-8000-' || lpad(to_hex(0xc000 + g), 12, '0'))::uuid, 500, 'grant', 'database',
       'demo history starting credits', now() - interval '25 hours'
  from generate_series(1, 40) g;

-- Each job's attempts. fate picks the ending; shape the latency draws.
--   fate < 0.03          failed: two thirds safety-blocked at once, a third three 503s/timeouts
--   0.03 <= fate < 0.04  cancelled while queued
--   0.04 <= fate < 0.07  succeeded on attempt 2 after a 429, 503 or timeout
--   otherwise            succeeded on attempt 1
create temporary table history_attempts on commit drop as
select j.id as job_id, j.user_id, j.model_id, a.attempt,
       case
         when j.fate < 0.02 then 'safety_blocked'
         when j.fate < 0.03 then case when a.attempt = 2 then 'timeout' else 'server_error' end
         when j.fate >= 0.04 and j.fate < 0.07 and a.attempt = 1 then
           case when j.shape < 0.5 then 'rate_limited' when j.shape < 0.8 then 'server_error' else 'timeout' end
         else 'ok'
       end as outcome,
       -- Log-normal (Box-Muller): p50 6 s flash / 14 s pro, sigma 0.55, plus 1 in 200 a
       -- straggler; below the worker's 50 s call timeout, past which a call is a timeout.
       least(48000, case when j.model_id = 'gemini-2.5-flash-image' then 6000 else 14000 end
         * exp(0.55 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
         + case when random() < 0.005 then 15000 + random() * 25000 else 0 end)::integer as ok_ms
  from history_jobs j
 cross join lateral generate_series(1, case
     when j.fate < 0.02 then 1
     when j.fate < 0.03 then 3
     when j.fate < 0.04 then 0
     when j.fate < 0.07 then 2
     else 1 end) a(attempt);

create temporary table history_calls on commit drop as
select x.*,
       case x.outcome when 'ok' then x.ok_ms when 'rate_limited' then 150 + (x.ok_ms % 300)
         when 'server_error' then 800 + (x.ok_ms % 3000) when 'timeout' then 50000
         else 2000 + (x.ok_ms % 2000) end as duration_ms,
       -- Attempt n starts after the previous attempts and their backoff (5 s, 10 s, plus Retry-After).
       (j.created_at + interval '0.3 seconds' + random() * interval '2 seconds'
         + (x.attempt - 1) * interval '140 seconds') as started_at
  from history_attempts x join history_jobs j on j.id = x.job_id;

set session_replication_role = replica;

insert into public.jobs (id, user_id, model_id, prompt, options, status, attempt, max_attempts, credits_cost,
                         charge_seq, progress, stage, result, error_class, error_message, errors, deadline_at,
                         run_at, created_at, updated_at, attempted_at, finished_at)
select j.id, j.user_id, j.model_id, j.prompt, '{}'::jsonb, e.status, coalesce(l.attempt, 0), 3,
       case when j.model_id = 'gemini-2.5-flash-image' then 1 else 4 end, 1,
       case when e.status = 'succeeded' then 100 else 0 end, e.status,
       case when e.status = 'succeeded'
         then jsonb_build_object('bucket', 'results', 'path', j.user_id || '/' || j.id || '.png', 'width', 1024, 'height', 1024) end,
       case when e.status = 'failed' then l.outcome end,
       case when l.outcome = 'safety_blocked' then 'the response was blocked by safety filters'
            when e.status = 'failed' then 'gave up after 3 attempts: ' || l.outcome end,
       coalesce((select jsonb_agg(jsonb_build_object('attempt', c.attempt, 'at', c.started_at + c.duration_ms * interval '1 millisecond',
                                                     'error_class', c.outcome, 'message', c.outcome) order by c.attempt)
                   from history_calls c where c.job_id = j.id and c.outcome <> 'ok'), '[]'::jsonb),
       j.created_at + interval '30 minutes',
       coalesce(l.started_at, j.created_at), j.created_at, e.finished_at, l.started_at, e.finished_at
  from history_jobs j
  left join lateral (select * from history_calls c where c.job_id = j.id order by c.attempt desc limit 1) l on true
 cross join lateral (select
     case when j.fate >= 0.03 and j.fate < 0.04 then 'cancelled'
          when l.outcome = 'ok' then 'succeeded' else 'failed' end as status,
     case when l.job_id is null then j.created_at + interval '20 seconds'
          else l.started_at + l.duration_ms * interval '1 millisecond' + interval '0.2 seconds' end as finished_at) e;

insert into public.provider_calls (job_id, user_id, attempt, model_id, worker_id, started_at, duration_ms, http_status,
                                   outcome, retry_after_ms, input_tokens, output_tokens, cost_usd, recorded_at)
select c.job_id, c.user_id, c.attempt, c.model_id, 'job-worker-' || (abs(hashtext(c.job_id::text)) % 4), c.started_at,
       c.duration_ms,
       case c.outcome when 'ok' then 200 when 'rate_limited' then 429 when 'server_error' then 503
         when 'safety_blocked' then 200 end,
       c.outcome, case when c.outcome = 'rate_limited' then 7000 end,
       case when c.outcome = 'timeout' then null else 12 end,
       case when c.outcome = 'ok' then 1290 end,
       case when c.outcome = 'ok' then m.price_usd_per_call else 0 end,
       c.started_at + c.duration_ms * interval '1 millisecond'
  from history_calls c join public.models m on m.id = c.model_id;

-- The timeline: created; per attempt claimed, then requeued (a retry) or the final status;
-- or cancelled from the queue.
insert into public.job_events (job_id, user_id, model_id, at, from_status, to_status, attempt, actor_id, actor_role, detail)
select e.job_id, e.user_id, e.model_id, e.at, e.from_status, e.to_status, e.attempt, e.actor_id, e.actor_role, e.detail
  from (
    select j.id as job_id, j.user_id, j.model_id, j.created_at as at, null as from_status, 'queued' as to_status,
           0 as attempt, j.user_id as actor_id, 'user' as actor_role, '{}'::jsonb as detail
      from public.jobs j join history_jobs h on h.id = j.id
    union all
    select c.job_id, c.user_id, c.model_id, c.started_at - interval '0.1 seconds', 'queued', 'running', c.attempt,
           null, 'worker', jsonb_build_object('worker_id', 'job-worker-' || (abs(hashtext(c.job_id::text)) % 4))
      from history_calls c
    union all
    select c.job_id, c.user_id, c.model_id, c.started_at + c.duration_ms * interval '1 millisecond' + interval '0.2 seconds',
           'running', case when c.attempt < j.attempt then 'queued' else j.status end, c.attempt, null, 'worker',
           case when c.outcome = 'ok' then '{}'::jsonb else jsonb_build_object('error_class', c.outcome) end
      from history_calls c join public.jobs j on j.id = c.job_id
    union all
    select j.id, j.user_id, j.model_id, j.finished_at, 'queued', 'cancelled', 0, j.user_id, 'user',
           '{"reason": "changed my mind"}'::jsonb
      from public.jobs j join history_jobs h on h.id = j.id
     where j.status = 'cancelled'
  ) e
 order by e.at;

set session_replication_role = origin;

-- Credits, triggers on: a charge per job at its creation, then a refund per failed or
-- cancelled job (a separate statement: the refund check looks for its charge).
insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_id, actor_role, note, created_at)
select j.user_id, -j.credits_cost, 'job_charge', j.id, 1, j.user_id, 'user', 'create_job', j.created_at
  from public.jobs j join history_jobs h on h.id = j.id
 order by j.created_at;
insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_id, actor_role, note, created_at)
select j.user_id, j.credits_cost, 'job_refund', j.id, 1,
       case when j.status = 'cancelled' then j.user_id end,
       case when j.status = 'cancelled' then 'user' else 'worker' end,
       case when j.status = 'cancelled' then 'cancel_jobs' else 'fail_job: ' || j.error_class end, j.finished_at
  from public.jobs j join history_jobs h on h.id = j.id
 where j.status in ('failed', 'cancelled')
 order by j.finished_at;

-- Roll the day up. A database that already rolled up minutes inside the day rolls them again
-- (the rollup upserts), so the history lands in the charts either way.
update public.metrics_rollup_state
   set rolled_until = least(rolled_until, date_bin('1 minute', now() - interval '24 hours', timestamptz 'epoch'))
 where id and rolled_until is not null;
select public.rollup_metrics();
analyze public.jobs, public.job_events, public.provider_calls, public.credit_ledger;
