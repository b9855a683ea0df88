import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readWorkerConfig } from '../functions/job-worker/config.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH } from '../../testkit/database/fixtures.ts';
import { percentile, round } from '../../testkit/percentiles.ts';
import { userToken } from '../../testkit/http/tokens.ts';
import { until } from '../../testkit/wait.ts';
import { ChildConversation } from './child-conversation.ts';
import type { Delivery, FanoutMode, Leak, SubscriberReply, SubscriberRequest, SubscriberSpec } from './fanout-clients.ts';
import type { WriterJob, WriterReply, WriterRequest } from './fanout-writer.ts';

/**
 * `npm run bench fanout`: N end users watching their own running job live, N = 10, 100, 1,000,
 * over Broadcast (each user's private topic `user:<id>:jobs`) and over Postgres Changes (each
 * user subscribed to UPDATEs of public.jobs filtered `user_id=eq.<id>`, RLS restricting), with
 * staff watching every job on `admin:jobs` in both.
 *
 * Users are real auth.users rows; each has one job made by create_job as that user and claimed
 * through claim_jobs, so it holds a lease. Each subscriber is an official supabase-js client with
 * its own WebSocket and its own token signed with the stack's key, hosted in SUBSCRIBER_PROCESSES
 * child processes (fanout-clients.ts); the heartbeats come from another (fanout-writer.ts); this
 * process runs the gateway. Every job heartbeats through heartbeat_job, as the worker does, every
 * WORKER_HEARTBEAT_MS (the worker's default, a third of its 60 s lease): at N = 1,000 that is
 * 50 changes/s, above the 30-40/s Supabase documents for Postgres Changes with RLS. Beats are
 * staggered evenly over the interval, the same schedule for both modes.
 *
 * Per N the modes run one after the other on the same clients, jobs and schedule for
 * PHASE_SECONDS each; the order alternates with N so neither always runs on a warmer server.
 * Only the mode's own subscriptions exist during its phase (the staff's are in both).
 *
 * Latency: the writer takes the wall clock when heartbeat_job's statement returns (after its
 * COMMIT; see fanout-writer.ts); a subscriber takes it when realtime-js calls its callback. Both
 * read the host's system clock (wall-clock.ts). The difference is commit to callback: the
 * walsender decoding the commit, the local Realtime server's work (and for Postgres Changes its
 * RLS check in Postgres), the frame, the client's decoding. The time before the COMMIT (the
 * heartbeat's own statement) is not in it.
 *
 * Database work per change comes from pg_stat_statements (preloaded in this benchmark's
 * cluster, tracking nested statements too), split by the role that ran each statement:
 *  - the Realtime server's: top-level statements of the gateway's login role (`postgres`);
 *    nothing else runs as it during a phase (the writer acts as service_role, the reader of
 *    these statistics as pg_monitor). Their blocks (shared buffers hit or read) include nested work.
 *  - run as a subscriber (`authenticated`, nested): only the Realtime server's RLS checks run as
 *    an end user here: the check query and the statements of realtime.local_visible_rows that
 *    run while it acts as the user.
 *  - the writer's: top-level statements of service_role (heartbeat_job; its trigger writes both
 *    Broadcast messages), the same in both modes.
 * Replication decoding by the walsender is not a statement and is not counted.
 */
export const clusterSettings = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
};

/**
 * FANOUT_SIZES (e.g. "10,100"), FANOUT_PHASE_SECONDS and FANOUT_MODES (e.g. "broadcast")
 * shorten a run while changing the harness or chasing one phase.
 */
const SIZES = (process.env.FANOUT_SIZES ?? '10,100,1000').split(',').map(Number);
const PHASE_SECONDS = Number(process.env.FANOUT_PHASE_SECONDS ?? 60);
const MODES = (process.env.FANOUT_MODES ?? 'broadcast,postgres_changes').split(',') as FanoutMode[];
const SUBSCRIBER_PROCESSES = 2;
const STAFF = [DEMO_USERS.admin, DEMO_USERS.support] as const;
/** Past the last commit, how long deliveries may take before the missing ones count as lost. */
const DRAIN_TIMEOUT_MS = 15_000;
const LEASE_SECONDS = 60;
/** The worker's own heartbeat interval at its defaults (a third of the lease). */
const WORKER_HEARTBEAT_MS = readWorkerConfig((name) => (name === 'GEMINI_API_KEY' ? 'unused' : undefined)).heartbeatMs;
const WRITER_CONNECTIONS = 8;
/** heartbeat_job takes progress 0-100, and each beat writes the job's next value. */
const MAX_BEATS_PER_JOB = 100;

const here = path.dirname(fileURLToPath(import.meta.url));

interface BenchJob extends WriterJob {
  userId: string;
  email: string;
}

type SubscriberProcess = ChildConversation<SubscriberRequest, SubscriberReply>;
type WriterProcess = ChildConversation<WriterRequest, WriterReply>;

/** Sends to every process; throws if any subscription failed. */
async function everyProcess(processes: SubscriberProcess[], message: SubscriberRequest) {
  const replies = await Promise.all(processes.map((p) => p.request(message, 'done')));
  const failures = replies.flatMap((r) => r.failures);
  if (failures.length > 0) throw new Error(`${message.type} failed for ${failures.length} subscribers: ${failures[0]}`);
}

async function createUsersWithRunningJobs(stack: TestStack, writer: pg.Pool, count: number): Promise<BenchJob[]> {
  const { rows: users } = await stack.db.query<{ id: string; email: string }>(
    `insert into auth.users (id, email, email_confirmed_at, raw_app_meta_data)
     select extensions.gen_random_uuid(), format('fanout-%s@example.com', lpad(g::text, 4, '0')), now(),
            '{"provider": "email", "providers": ["email"]}'
       from generate_series(1, $1) g
     returning id, email`,
    [count],
  );
  users.sort((a, b) => a.email.localeCompare(b.email));
  await stack.db.query(
    `insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
     select id, 10, 'grant', 'database', 'fanout benchmark' from auth.users where email like 'fanout-%'`,
  );
  // create_job as each user, as the app calls it (the user's claims set, charged through the ledger).
  await stack.db.query(`
    do $$
    declare u record;
    begin
      for u in select id from auth.users where email like 'fanout-%' loop
        perform set_config('request.jwt.claims', json_build_object('sub', u.id, 'role', 'authenticated')::text, true);
        perform public.create_job('${FLASH}', 'a lighthouse at dusk, watercolour');
      end loop;
    end
    $$`);
  // Claimed as the worker claims: in batches, each job then holding a lease token.
  const leases = new Map<string, string>();
  for (;;) {
    const { rows } = await writer.query<{ id: string; lease_token: string }>(
      `select id, lease_token from public.claim_jobs('fanout-bench', 500, $1)`,
      [LEASE_SECONDS],
    );
    if (rows.length === 0) break;
    for (const r of rows) leases.set(r.id, r.lease_token);
  }
  const { rows: jobs } = await stack.db.query<{ id: string; user_id: string }>(
    `select j.id, j.user_id from public.jobs j join auth.users u on u.id = j.user_id where u.email like 'fanout-%'`,
  );
  const jobOf = new Map(jobs.map((j) => [j.user_id, j.id]));
  return users.map((u) => {
    const jobId = jobOf.get(u.id)!;
    const leaseToken = leases.get(jobId);
    if (!leaseToken) throw new Error(`job ${jobId} was not claimed`);
    return { userId: u.id, email: u.email, jobId, leaseToken, progress: 0 };
  });
}

/** Sums of pg_stat_statements in this database, by role and nesting. */
type StatementTotals = Map<string, { calls: number; rows: number; blocks: number }>;

async function statementTotals(observer: pg.Client): Promise<StatementTotals> {
  const { rows } = await observer.query<{ role: string; toplevel: boolean; calls: string; rows: string; blocks: string }>(
    `select r.rolname as role, s.toplevel, sum(s.calls) as calls, sum(s.rows) as rows,
            sum(s.shared_blks_hit + s.shared_blks_read) as blocks
       from extensions.pg_stat_statements s join pg_roles r on r.oid = s.userid
      where s.dbid = (select oid from pg_database where datname = current_database())
      group by 1, 2`,
  );
  return new Map(rows.map((r) => [`${r.role}/${r.toplevel ? 'top' : 'nested'}`, { calls: Number(r.calls), rows: Number(r.rows), blocks: Number(r.blocks) }]));
}

function perChange(before: StatementTotals, after: StatementTotals, key: string, changes: number) {
  const a = after.get(key) ?? { calls: 0, rows: 0, blocks: 0 };
  const b = before.get(key) ?? { calls: 0, rows: 0, blocks: 0 };
  return {
    statements: round((a.calls - b.calls) / changes, 3),
    rows: round((a.rows - b.rows) / changes, 3),
    blocks: round((a.blocks - b.blocks) / changes, 2),
  };
}

function latencySummary(latencies: number[]) {
  return {
    p50_ms: round(percentile(latencies, 0.5), 1),
    p95_ms: round(percentile(latencies, 0.95), 1),
    p99_ms: round(percentile(latencies, 0.99), 1),
    max_ms: round(percentile(latencies, 1), 1),
  };
}

/**
 * One phase: every job of `jobs` beats on the staggered schedule for PHASE_SECONDS; then the
 * deliveries are awaited and matched with the commits.
 */
async function runPhase(
  jobs: BenchJob[],
  processes: SubscriberProcess[],
  writer: WriterProcess,
  dbUrl: string,
  observer: pg.Client,
  db: pg.Pool,
) {
  const n = jobs.length;
  // The owner's topic carries a running job's progress at most once a second per job, the job's
  // previous update being the clock (20261207500200_job_cost_messages_and_sweep.sql): a beat less
  // than a second after the job's last update sends no message, by design. Only a phase's first
  // beats can be that close, to the claims just before a run's first phase (a beat follows the
  // job's previous one by the heartbeat interval, 20 s), and counting them as expected made a
  // run's first phase miss a message whenever the setup took under a second. So a phase starts
  // once every job's last update is over a second old: each of its beats is then a message.
  await until(
    async () =>
      (await db.query<{ settled: boolean }>(`select bool_and(updated_at <= now() - interval '1 second') as settled from public.jobs where id = any($1)`, [
        jobs.map((j) => j.jobId),
      ])).rows[0]!.settled,
    { timeoutMs: 10_000, intervalMs: 100, label: "every job's last update over a second old" },
  );
  const phaseStart = (await db.query<{ now: Date }>('select clock_timestamp() as now')).rows[0]!.now;
  await Promise.all(processes.map((p) => p.request({ type: 'collect' }, 'collected'))); // clears
  const gatewayLoop = monitorEventLoopDelay({ resolution: 5 });
  const loadBefore = os.loadavg()[0]!;
  const before = await statementTotals(observer);
  gatewayLoop.enable();

  const ran = await writer.request(
    { type: 'run', dbUrl, connections: WRITER_CONNECTIONS, jobs, phaseMs: PHASE_SECONDS * 1000, intervalMs: WORKER_HEARTBEAT_MS, leaseSeconds: LEASE_SECONDS },
    'ran',
  );
  ran.progress.forEach((p, i) => (jobs[i]!.progress = p));
  // `${job id}:${progress}` -> wall clock when the heartbeat's statement returned.
  const commits = new Map(ran.commits.map(([jobId, progress, at]) => [`${jobId}:${progress}`, at]));
  const changes = commits.size;
  // Heartbeats are progress, which admin:jobs does not carry (it carries changes of status): the
  // staff receive none of these, and a staff delivery here would be a leak of progress to them.
  const expected = changes;
  try {
    await until(
      async () => {
        const counts = await Promise.all(processes.map((p) => p.request({ type: 'count' }, 'count')));
        return counts.reduce((s, c) => s + c.received, 0) >= expected;
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 100, label: 'every delivery' },
    );
  } catch {
    // Missing deliveries are reported below as the delivered ratio, not as a failed run.
  }
  const after = await statementTotals(observer);
  gatewayLoop.disable();
  // The owners' messages the phase's commits wrote to realtime.messages: a commit without one was
  // never sent (not a delivery lost on the way), and tells the two apart.
  const { rows: messages } = await db.query<{ id: string; progress: number }>(
    `select payload->>'id' as id, (payload->>'progress')::int as progress from realtime.messages
      where inserted_at >= $1 and event = 'job_changed' and topic like 'user:%:jobs'`,
    [phaseStart],
  );
  const written = new Set(messages.map((m) => `${m.id}:${m.progress}`));
  const unwritten = [...commits.keys()].filter((key) => !written.has(key));
  const loadAfter = os.loadavg()[0]!;
  const collected = await Promise.all(processes.map((p) => p.request({ type: 'collect' }, 'collected')));

  const ownLatencies: number[] = [];
  const staffLatencies: number[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let unmatched = 0;
  const leaks: Leak[] = [];
  collected.forEach((c, processIndex) => {
    leaks.push(...c.leaks);
    for (const [subscriber, jobId, progress, at] of c.deliveries as Delivery[]) {
      const committedAt = commits.get(`${jobId}:${progress}`);
      if (committedAt === undefined) {
        unmatched++;
        continue;
      }
      const key = `${processIndex}:${subscriber}:${jobId}:${progress}`;
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      // Staff are the first subscribers of the first processes (see subscriberSpecs).
      const staff = processIndex < STAFF.length && subscriber === 0;
      (staff ? staffLatencies : ownLatencies).push(at - committedAt);
    }
  });
  const realtime = perChange(before, after, 'postgres/top', changes);
  const asSubscriber = perChange(before, after, 'authenticated/nested', changes);
  const writerWork = perChange(before, after, 'service_role/top', changes);
  return {
    ...latencySummary(ownLatencies),
    leaks: leaks.length,
    delivered_ratio: round(ownLatencies.length / changes, 4),
    users: n,
    changes,
    changes_per_s: round(changes / ran.seconds, 1),
    fenced_heartbeats: ran.fenced,
    delivered: ownLatencies.length,
    expected: changes,
    written: changes - unwritten.length,
    ...(unwritten.length > 0 ? { first_unwritten: unwritten[0] } : {}),
    duplicates,
    unmatched,
    staff: {
      subscribers: STAFF.length,
      delivered_ratio: round(staffLatencies.length / (changes * STAFF.length), 4),
      ...latencySummary(staffLatencies),
    },
    db_per_change: {
      realtime_statements: realtime.statements,
      realtime_blocks: realtime.blocks,
      subscriber_role_statements: asSubscriber.statements,
      subscriber_role_rows: asSubscriber.rows,
      writer_statements: writerWork.statements,
      writer_blocks: writerWork.blocks,
    },
    gateway_event_loop_p99_ms: round(gatewayLoop.percentile(99) / 1e6, 1),
    subscriber_event_loop_p99_ms: round(Math.max(...collected.map((c) => c.eventLoopP99Ms)), 1),
    load_average_1m: { start: round(loadBefore, 2), end: round(loadAfter, 2) },
    ...(leaks.length > 0 ? { first_leak: leaks[0] } : {}),
  };
}

/**
 * The subscribers of one size, spread round-robin over the processes; staff first, one per
 * process (the phase tells staff deliveries by that position).
 */
async function subscriberSpecs(stack: TestStack, jobs: BenchJob[]): Promise<SubscriberSpec[][]> {
  const specs: SubscriberSpec[][] = Array.from({ length: SUBSCRIBER_PROCESSES }, () => []);
  for (const [i, staff] of STAFF.entries()) {
    const role = staff === DEMO_USERS.admin ? 'admin' : 'support';
    specs[i % SUBSCRIBER_PROCESSES]!.push({
      token: await userToken(stack, { sub: staff.id, email: staff.email, app_metadata: { provider: 'email', role } }),
      userId: staff.id,
      jobId: null,
    });
  }
  for (const [i, job] of jobs.entries()) {
    specs[i % SUBSCRIBER_PROCESSES]!.push({
      token: await userToken(stack, { sub: job.userId, email: job.email, app_metadata: { provider: 'email' } }),
      userId: job.userId,
      jobId: job.jobId,
    });
  }
  return specs;
}

export default async function benchFanout() {
  if (STAFF.length > SUBSCRIBER_PROCESSES) throw new Error('one staff subscriber per process at most');
  if (SIZES.length * 2 * Math.ceil((PHASE_SECONDS * 1000) / WORKER_HEARTBEAT_MS) > MAX_BEATS_PER_JOB) {
    throw new Error('the first jobs would beat more than 100 times: shorten the phases');
  }
  const stack = await startTestStack();
  // Claims as the worker makes them, as service_role (see fanout-writer.ts).
  const claimer = new pg.Pool({
    connectionString: stack.dbUrl,
    max: 1,
    options: `-c role=service_role -c request.jwt.claims={"role":"service_role"}`,
  } as pg.PoolConfig);
  const observer = new pg.Client({ connectionString: stack.dbUrl });
  const writer: WriterProcess = await ChildConversation.start(path.join(here, 'fanout-writer.ts'));
  const results: Record<FanoutMode, Record<string, unknown>> = { broadcast: {}, postgres_changes: {} };
  try {
    await stack.db.query(`create extension if not exists pg_stat_statements with schema extensions;
                          grant usage on schema extensions to pg_monitor`);
    await observer.connect();
    await observer.query('set role pg_monitor');
    const allJobs = await createUsersWithRunningJobs(stack, claimer, Math.max(...SIZES));

    for (const [sizeIndex, n] of SIZES.entries()) {
      const jobs = allJobs.slice(0, n);
      const processes: SubscriberProcess[] = await Promise.all(
        Array.from({ length: SUBSCRIBER_PROCESSES }, () => ChildConversation.start<SubscriberRequest, SubscriberReply>(path.join(here, 'fanout-clients.ts'))),
      );
      try {
        const specs = await subscriberSpecs(stack, jobs);
        await Promise.all(
          processes.map((p, i) => p.request({ type: 'connect', apiUrl: stack.apiUrl, key: stack.publishableKey, subscribers: specs[i]! }, 'done')),
        );
        await everyProcess(processes, { type: 'subscribe', mode: 'staff' });
        const order: FanoutMode[] = sizeIndex % 2 === 0 ? ['broadcast', 'postgres_changes'] : ['postgres_changes', 'broadcast'];
        for (const mode of order.filter((m) => MODES.includes(m))) {
          await everyProcess(processes, { type: 'subscribe', mode });
          const result = await runPhase(jobs, processes, writer, stack.dbUrl, observer, stack.db);
          console.error(`fanout ${mode} n=${n}: ${JSON.stringify(result)}`);
          results[mode][`n${n}`] = result;
          await everyProcess(processes, { type: 'unsubscribe', mode });
        }
      } finally {
        await Promise.all(processes.map((p) => p.close({ type: 'close' })));
      }
    }
    return {
      ...results,
      setup: {
        sizes: SIZES,
        modes: MODES,
        phase_seconds: PHASE_SECONDS,
        heartbeat_interval_ms: WORKER_HEARTBEAT_MS,
        staff_subscribers: STAFF.length,
        subscriber_processes: SUBSCRIBER_PROCESSES,
        writer_connections: WRITER_CONNECTIONS,
        cpus: os.cpus().length,
      },
    };
  } finally {
    await writer.close({ type: 'close' });
    await observer.end().catch(() => {});
    await claimer.end();
    await stack.stop();
  }
}
