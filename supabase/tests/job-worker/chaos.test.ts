import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startScheduler, type Scheduler } from '../../local/scheduler.ts';
import { workerInvoker, workerSchedulerOptions } from '../../local/worker-dispatch.ts';
import { FLASH, startWorkerFixture, unbalancedAccounts, type WorkerFixture } from './worker-fixture.ts';

// Chaos: JOBS jobs, four worker invocations at a time into four Deno processes, a random one
// SIGKILLed each time another twentieth of the jobs has ended, and a provider answering 10% 429,
// 5% 500 and 2% never. Whatever happens, every job must end succeeded or failed, none may complete
// twice, every failed job is refunded exactly once and every balance equals its ledger.
//
// Kills follow progress, not the wall clock, so a fast machine and a loaded one see the same
// amount of chaos. 400 jobs make about 500 calls: enough for every fault class and about twenty
// kills mid-job; `CHAOS_JOBS=2000 npm test -- supabase/tests/job-worker/chaos.test.ts` runs a
// bigger one.
//
// Timings are scaled down so a killed worker's jobs come back quickly: 5 s leases (heartbeat
// every 1.5 s), the reaper every second. Call timeouts are not: with 32 calls in flight into one
// stand-in on two busy cores, answers took over 2 s, a 2 s timeout turned them into retries that
// added load, and 176 of 400 jobs were still open at the liveness bound. A hung call (2%) holds
// its slot for the whole 10 s instead. 429s announce a 0 s retry delay here:
// with a shared per-model Retry-After, a 10% 429 rate with any real delay keeps the model paused
// nearly all the time, which tests patience, not correctness (Retry-After is covered in
// run-attempt.test.ts).
const JOBS = Number(process.env.CHAOS_JOBS ?? 400);
const KILL_EVERY = Math.max(1, Math.floor(JOBS / 20));
const USERS = Math.ceil(JOBS / 20); // create_job allows 20 queued jobs per user
const GRANT = 50;
// A bound on liveness, not a speed target: every job must end, however slowly a shared machine
// runs it (2,000 jobs took about 3.5 minutes with two loaded cores; the JSON line reports the
// time taken).
const TIME_LIMIT_MS = 480_000;

let f: WorkerFixture;
let scheduler: Scheduler;
before(async () => {
  f = await startWorkerFixture({
    functions: {
      instances: 4,
      env: {
        GEMINI_CALL_TIMEOUT_MS: '10000',
        WORKER_ATTEMPT_BUDGET_MS: '25000',
        WORKER_WALL_CLOCK_MS: '60000',
        WORKER_LEASE_SECONDS: '5',
        WORKER_HEARTBEAT_MS: '1500',
        WORKER_BACKOFF_BASE_MS: '100',
        WORKER_BACKOFF_CAP_MS: '1000',
        WORKER_CONCURRENCY: '8',
      },
    },
  });
});
after(async () => {
  await scheduler?.stop();
  await f?.stop();
});

async function enqueueAll() {
  // The per-model rate budget is not under test here.
  await f.db.query(`update public.models set rate_per_minute = 100000 where id = $1`, [FLASH]);
  await f.db.query(`update public.model_health set budget_tokens = 100000 where model_id = $1`, [FLASH]);
  await f.db.query(
    `insert into auth.users (id, email) select extensions.gen_random_uuid(), 'chaos-' || g || '@example.com' from generate_series(1, $1) g`,
    [USERS],
  );
  await f.db.query(
    `insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
     select id, $1, 'grant', 'database', 'chaos' from auth.users where email like 'chaos-%'`,
    [GRANT],
  );
  // create_job as each user, exactly as the app calls it (claims set, charged through the ledger).
  await f.db.query(
    `do $$
     declare u record; i integer; n integer := 0;
     begin
       for u in select id from auth.users where email like 'chaos-%' order by email loop
         perform set_config('request.jwt.claims', json_build_object('sub', u.id, 'role', 'authenticated')::text, true);
         for i in 1..20 loop
           exit when n >= ${JOBS};
           perform public.create_job('${FLASH}', 'chaos ' || n, '{}'::jsonb);
           n := n + 1;
         end loop;
       end loop;
     end $$`,
  );
  // One job in five gets a single attempt, so kills, hangs and 5xx also end jobs failed and the
  // refund invariant is exercised, not just vacuously true.
  await f.db.query(`update public.jobs set max_attempts = 1 where abs(hashtext(id::text)) % 5 = 0`);
}

test(`chaos: ${JOBS} jobs, 4 workers at a time, SIGKILLs, 10% 429, 5% 500, 2% hangs`, { timeout: TIME_LIMIT_MS + 60_000 }, async () => {
  f.standIn.setFaults({ seed: 20261123, rate429: 0.1, error500: 0.05, hang: 0.02, retryAfterSeconds: 0 });
  const started = Date.now();
  await enqueueAll();

  // The scheduler as `npm run dev` runs it, except that each wake-up is four concurrent
  // invocations (so four Deno processes run) and the reaper runs every second.
  const invokeOne = workerInvoker(f.stack.apiUrl, f.stack.secretKey);
  const options = workerSchedulerOptions({
    dbUrl: f.stack.dbUrl,
    apiUrl: f.stack.apiUrl,
    secretKey: f.stack.secretKey,
    sweepMs: 500,
    reapEveryMs: 1000,
  });
  scheduler = await startScheduler({
    ...options,
    invoke: async () => {
      // A killed process fails the invocation in flight to it; the next wake-up retries.
      await Promise.allSettled([invokeOne(), invokeOne(), invokeOne(), invokeOne()]);
    },
  });

  // A random worker process dies each time another KILL_EVERY jobs have ended (the next time one
  // is running, if none is at that moment).
  let kills = 0;
  const killOne = () => {
    const pids = f.functions!.pids('job-worker');
    if (pids.length === 0) return;
    try {
      process.kill(pids[Math.floor(Math.random() * pids.length)]!, 'SIGKILL');
      kills += 1;
    } catch {
      // It exited on its own just now; the next poll tries again.
    }
  };

  // The jobs table is the outcome; poll it, bounded.
  let open = JOBS;
  while (Date.now() - started < TIME_LIMIT_MS) {
    const { rows } = await f.db.query(`select count(*)::int as n from public.jobs where status in ('queued', 'running')`);
    open = rows[0]!.n;
    if (open === 0) break;
    if (kills < Math.floor((JOBS - open) / KILL_EVERY)) killOne();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const seconds = (Date.now() - started) / 1000;

  const { rows: [summary] } = await f.db.query(`
    select count(*) filter (where status = 'succeeded')::int as succeeded,
           count(*) filter (where status = 'failed')::int as failed,
           count(*) filter (where status not in ('succeeded', 'failed'))::int as open
      from public.jobs j join auth.users u on u.id = j.user_id where u.email like 'chaos-%'`);
  const { rows: outcomes } = await f.db.query(`select outcome, count(*)::int as n from public.provider_calls group by 1 order by 1`);
  const { rows: errorClasses } = await f.db.query(
    `select e ->> 'error_class' as error_class, count(*)::int as n from public.jobs, jsonb_array_elements(errors) e group by 1 order by 1`,
  );
  console.log(JSON.stringify({ jobs: JOBS, seconds, kills, ...summary, outcomes, errorClasses }));

  assert.equal(summary.open, 0, `every job ended succeeded or failed (${open} still open after ${seconds} s)`);
  assert.equal(summary.succeeded + summary.failed, JOBS);
  assert.ok(summary.failed > 0, 'some single-attempt jobs failed, so refunds were exercised');

  const { rows: twice } = await f.db.query(
    `select job_id from public.job_events where to_status = 'succeeded' group by job_id having count(*) > 1`,
  );
  assert.deepEqual(twice, [], 'no job completed twice');

  const { rows: refunds } = await f.db.query(`
    select j.id, j.status, count(l.id) filter (where l.reason = 'job_refund') as refunds,
           coalesce(sum(l.delta), 0)::int as net, j.credits_cost
      from public.jobs j left join public.credit_ledger l on l.job_id = j.id
     group by j.id
    having (j.status = 'failed' and (count(l.id) filter (where l.reason = 'job_refund') <> 1 or coalesce(sum(l.delta), 0) <> 0))
        or (j.status = 'succeeded' and (count(l.id) filter (where l.reason = 'job_refund') <> 0 or coalesce(sum(l.delta), 0) <> -j.credits_cost))`);
  assert.deepEqual(refunds, [], 'every failed job refunded exactly once, no succeeded job refunded');
  assert.equal(await unbalancedAccounts(f.db), 0, 'every balance equals its ledger');

  const { rows: missing } = await f.db.query(`
    select j.id from public.jobs j
     where j.status = 'succeeded'
       and not exists (select 1 from storage.objects o where o.bucket_id = j.result ->> 'bucket' and o.name = j.result ->> 'path')`);
  assert.deepEqual(missing, [], 'every succeeded job has its image in Storage');

  // The chaos really happened.
  assert.ok(kills >= 3, `${kills} workers killed`);
  const seen = new Set(outcomes.map((o) => o.outcome));
  for (const outcome of ['ok', 'rate_limited', 'server_error', 'timeout']) assert.ok(seen.has(outcome), `calls ended ${outcome}`);
  assert.ok(errorClasses.some((e) => e.error_class === 'lease_expired'), 'killed workers\' jobs were reaped and retried');
});
