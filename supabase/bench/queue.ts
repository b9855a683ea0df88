import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, run, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import { createTestDatabase } from '../../testkit/database/cluster.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { as, FLASH } from '../../testkit/database/fixtures.ts';
import { median, percentile, round } from '../../testkit/percentiles.ts';
import { until } from '../../testkit/wait.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';
import { generateHealthHistory } from './health-history.ts';

/**
 * `npm run bench queue`: the job pipeline as a queue, against graphile-worker on the same
 * Postgres, like with like; the cost of completing a job through the generic jobs trigger; and
 * job_health at production scale.
 *
 * 1. Throughput. Each side is a fleet of WORKERS workers with WORKERS working connections and
 *    one listening connection, started, connected, listening and warmed (WARMUP_JOBS jobs run
 *    through it, then cleared) before anything is timed. Then JOBS no-op jobs are bulk-inserted
 *    in one transaction (ours: one INSERT ... SELECT into public.jobs; graphile-worker: one call
 *    of its add_jobs), the tables analysed inside it, and the timer starts just before COMMIT.
 *    Both fleets wake on their own NOTIFY from that commit (job_dispatch; jobs:insert) and the
 *    timer stops when the statement that completes the last job has returned: for ours the last
 *    complete_jobs call, for graphile-worker the last DELETE of its completed jobs, observed on
 *    the pg clients it was given (its job:complete event fires when a completion is handed to
 *    its batcher, before the database has it). Nothing polls.
 *      ours_batch_50                 claim_jobs(50), then one complete_jobs for the claim's jobs
 *                                    (no-ops end in the same tick; the worker sends the
 *                                    completions of a tick in one call, as graphile-worker does)
 *      graphile_batched              its documented fast mode: a local queue of 50 (the size of
 *                                    our claim) and batched completion (completeJobBatchDelay 0,
 *                                    the setting of its own performance figures)
 *      ours_batch_1                  claim_jobs(1), then complete_jobs of one: what the worker does
 *      graphile_defaults             its defaults: one job per fetch, one completion per statement
 *      ours_batch_50_through_trigger as ours_batch_50, but each job completed by a bench-only copy
 *                                    of complete_jobs that leaves the timeline rows and the broadcasts
 *                                    to the jobs_after_update trigger (see below)
 *    Pairings: graphile_batched vs ours_batch_50, graphile_defaults vs ours_batch_1. Every
 *    side runs once per round, ROUNDS rounds, in the opposite order every other round; each
 *    run's CPU (Postgres cluster and this Node process, which hosts both fleets) is divided by
 *    its jobs. Duplicate executions: ours from job_events (a job claimed more than once),
 *    graphile-worker from its task's own count of each job.
 * 2. complete_jobs' own writes. complete_jobs writes the jobs' timeline rows and broadcasts
 *    in the completing statement and makes jobs_after_update stand down for it
 *    (jobhealth.events_written). The bench creates, in its own throwaway database only,
 *    bench.complete_jobs_through_trigger: the same UPDATE without the flag, so the trigger
 *    writes the same rows and messages (what complete_jobs itself falls back to when its own
 *    writes fail). ours_batch_50 over ours_batch_50_through_trigger is what the special case buys.
 * 3. job_health over 24 hours in 1-minute buckets, with 1,000,000 jobs (3,000,000 timeline
 *    events) and 1,000,000 provider calls generated over the last 24 hours and rolled up.
 */
const JOBS = 20_000;
const WORKERS = 4;
const BATCH = 50;
const ROUNDS = 4;
const WARMUP_JOBS = 1_000;
const HEALTH_JOBS = 1_000_000;
const HEALTH_CALLS = 1_000_000;
const HEALTH_RUNS = 100;
const MODEL = FLASH;

const SIDES = ['ours_batch_50', 'ours_batch_50_through_trigger', 'graphile_batched', 'ours_batch_1', 'graphile_defaults'] as const;
type Side = (typeof SIDES)[number];

const silentLogger = new Logger(() => () => {});

/** graphile-worker's options per side, beside the concurrency both fleets share. */
const GRAPHILE_PRESETS = {
  // Its performance page's configuration for throughput, with the local queue the size of our
  // claim batch: jobs fetched (and locked) 50 at a time by the pool, completions sent as one
  // DELETE per tick.
  graphile_batched: { localQueue: { size: BATCH }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
  graphile_defaults: {},
} as const;

// The plain UPDATE complete_jobs runs when its own writes fail, as a function of its own: the
// jobs_after_update trigger writes the timeline row and the broadcast, as for every other update.
const THROUGH_TRIGGER_SQL = `
create schema bench;
create function bench.complete_jobs_through_trigger(p_job_ids uuid[], p_lease_tokens uuid[])
returns table (job_id uuid, outcome text)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text;
  v_done uuid[];
begin
  v_role := private.require_role(array['service_role'], 'complete_jobs');
  perform private.set_actor('worker');
  with done as (
    update public.jobs j
       set status = 'succeeded', progress = 100, stage = 'done',
           lease_token = null, lease_expires_at = null, finished_at = now(), updated_at = now()
      from unnest(p_job_ids, p_lease_tokens) as i (id, lease_token)
     where j.id = i.id and j.lease_token = i.lease_token
    returning j.id
  )
  select array_agg(d.id) into v_done from done d;
  return query select i.id, case when i.id = any (v_done) then 'succeeded' else 'fenced' end from unnest(p_job_ids) as i (id);
end;
$$;`;

/** Counts completions that reached the database and notes when an expected number has. */
class CompletionCounter {
  private count = 0;
  private target = Number.POSITIVE_INFINITY;
  private reached: ((at: number) => void) | undefined;

  /** Starts counting from zero; resolves with the moment `n` completions have been counted. */
  expect(n: number): Promise<number> {
    this.count = 0;
    this.target = n;
    return new Promise((resolve) => (this.reached = resolve));
  }

  add(n: number) {
    this.count += n;
    if (this.count >= this.target && this.reached) {
      this.reached(performance.now());
      this.reached = undefined;
    }
  }
}

interface Fleet {
  /** Starts a burst of `n` jobs: resolves with the moment the last of them is completed in the database. */
  expect(n: number): Promise<number>;
  /** Resolves once every worker waits for work. */
  idle(): Promise<void>;
  /** How many times a job ran more than once in the last burst, where the fleet itself can tell. */
  duplicateRuns(): number | null;
  stop(): Promise<void>;
}

/**
 * Our side, as the worker uses the queue: each connection claims up to `batch` jobs in one
 * statement and completes each with one call, until a claim comes back empty; then it waits
 * for the next job_dispatch notification (sent by the enqueue trigger at commit).
 */
async function startOurFleet(url: string, batch: number, completion: string): Promise<Fleet> {
  const counter = new CompletionCounter();
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  let generation = 0;
  const waiting: (() => void)[] = [];
  let stopping = false;
  const wake = () => {
    generation += 1;
    for (const resolve of waiting.splice(0)) resolve();
  };
  listener.on('notification', wake);
  await listener.query('listen job_dispatch');
  const clients = await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  const loops = clients.map(async (client, w) => {
    for (;;) {
      // A notification that arrives while this loop drains is not lost: it claims again.
      const seen = generation;
      for (;;) {
        // Named prepared statements, as graphile-worker uses by default: parsed once per connection.
        const { rows } = await client.query<{ id: string; lease_token: string }>({
          name: 'claim',
          text: 'select id, lease_token from public.claim_jobs($1, $2, 60)',
          values: [`bench-${w}`, batch],
        });
        if (rows.length === 0) break;
        // The jobs are no-ops: every one of a claim ends in the same tick, so, as the worker
        // sends the completions that land in one tick, they go in one call.
        const done = await client.query<{ outcome: string }>({
          name: 'complete',
          text: `select outcome from ${completion}($1::uuid[], $2::uuid[])`,
          values: [rows.map((job) => job.id), rows.map((job) => job.lease_token)],
        });
        counter.add(done.rows.filter((r) => r.outcome === 'succeeded').length);
      }
      if (stopping) return;
      if (generation === seen) await new Promise<void>((resolve) => waiting.push(resolve));
      if (stopping) return;
    }
  });
  return {
    expect: (n) => counter.expect(n),
    idle: () => until(() => waiting.length === WORKERS, { intervalMs: 1, label: 'every worker to wait for work' }).then(() => {}),
    duplicateRuns: () => null,
    async stop() {
      stopping = true;
      wake();
      await Promise.all(loops);
      await Promise.all([...clients, listener].map((c) => c.end()));
    },
  };
}

/** graphile-worker's DELETE of completed jobs (one job or a batch): its completion statement. */
const GRAPHILE_COMPLETION = /^\s*delete from \S+\._private_jobs/i;

/** Adds each completion statement's deleted rows to `counter` when the statement returns. */
function observeCompletions(client: pg.PoolClient, counter: CompletionCounter) {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    const config = args[0] as string | { text?: string } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    if (text && GRAPHILE_COMPLETION.test(text) && result instanceof Promise) {
      result.then((r: pg.QueryResult) => counter.add(r.rowCount ?? 0), () => {});
    }
    return result;
  };
}

/** graphile-worker with a no-op task, WORKERS concurrent jobs, on a pool of WORKERS + 1 (one listens). */
async function startGraphileFleet(url: string, side: keyof typeof GRAPHILE_PRESETS): Promise<Fleet> {
  const counter = new CompletionCounter();
  // concurrency + 1 connections, as in graphile-worker's own performance configuration
  // (concurrentJobs 24, maxPoolSize 25), and as our fleet has: WORKERS working, one listening.
  // Its default of 10 measured the same here within the noise (it used up to 8 at once, the
  // batched completions overlapping).
  const pool = new pg.Pool({ connectionString: url, max: WORKERS + 1 });
  pool.on('connect', (client) => observeCompletions(client, counter));
  // An idle client's error (the cluster going away at the end) must not end the process; a
  // failing query fails inside graphile-worker, which shuts its pool down and says so.
  pool.on('error', () => {});
  const events: WorkerEvents = new EventEmitter();
  const listening = new Promise<void>((resolve) => events.once('pool:listen:success', () => resolve()));
  let runs = new Map<number, number>();
  const runner = await run({
    pgPool: pool,
    noHandleSignals: true,
    logger: silentLogger,
    events,
    preset: { worker: { concurrentJobs: WORKERS, ...GRAPHILE_PRESETS[side] } },
    taskList: {
      noop: async (payload) => {
        const n = (payload as { n: number }).n;
        runs.set(n, (runs.get(n) ?? 0) + 1);
      },
    },
  });
  await listening;
  return {
    expect(n) {
      runs = new Map();
      return counter.expect(n);
    },
    // Its workers wait inside the pool (for a nudge, a poll or the local queue) with no outside sign.
    idle: async () => {},
    duplicateRuns: () => [...runs.values()].reduce((sum, count) => sum + count - 1, 0),
    async stop() {
      await runner.stop();
      await pool.end();
    },
  };
}

function startFleet(url: string, side: Side): Promise<Fleet> {
  switch (side) {
    case 'ours_batch_50':
      return startOurFleet(url, BATCH, 'public.complete_jobs');
    case 'ours_batch_50_through_trigger':
      return startOurFleet(url, BATCH, 'bench.complete_jobs_through_trigger');
    case 'ours_batch_1':
      return startOurFleet(url, 1, 'public.complete_jobs');
    case 'graphile_batched':
    case 'graphile_defaults':
      return startGraphileFleet(url, side);
  }
}

const isGraphile = (side: Side) => side.startsWith('graphile');

/** Inserts `n` jobs in one statement inside an open transaction, and analyses the table there. */
async function insertJobs(client: pg.Client, side: Side, n: number) {
  if (isGraphile(side)) {
    await client.query(
      `select count(*) from graphile_worker.add_jobs(array(
         select row('noop', json_build_object('n', g), null, null, null, null, null, null)::graphile_worker.job_spec
           from generate_series(1, $1::integer) g))`,
      [n],
    );
    await client.query('analyze graphile_worker._private_jobs');
  } else {
    await client.query(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, $2, 'no-op ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $3::integer) g`,
      [DEMO_USERS.alice.id, MODEL, n],
    );
    await client.query('analyze public.jobs');
  }
}

/** Empties the side's tables and vacuums them, so every run starts from the same empty queue. */
async function clear(client: pg.Client, side: Side) {
  if (isGraphile(side)) {
    await client.query('delete from graphile_worker._private_jobs');
    const { rows } = await client.query<{ name: string }>(
      `select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = 'graphile_worker'`,
    );
    for (const { name } of rows) await client.query(`vacuum analyze ${name}`);
  } else {
    await client.query(`set session_replication_role = replica`);
    await client.query(`delete from public.job_events; delete from realtime.messages; delete from public.jobs`);
    await client.query(`set session_replication_role = origin`);
    await client.query('vacuum analyze public.jobs, public.job_events, realtime.messages');
  }
}

/** Bulk insert, timer, COMMIT; resolves when the fleet has completed all `n` in the database. */
async function burst(admin: pg.Client, fleet: Fleet, side: Side, n: number, meter?: CpuMeter) {
  await admin.query('begin');
  await insertJobs(admin, side, n);
  const completed = fleet.expect(n);
  const cpuBefore = meter?.sample() ?? null;
  const started = performance.now();
  await admin.query('commit');
  const finished = await completed;
  const cpu = CpuMeter.between(cpuBefore, meter?.sample() ?? null, n);
  return { seconds: (finished - started) / 1000, cpu };
}

interface RunResult extends CpuUse {
  jobs: number;
  seconds: number;
  jobs_per_second: number;
  cpu_us_per_job: number | null;
  duplicate_executions: number;
  not_completed: number;
}

async function runSide(url: string, admin: pg.Client, side: Side, meter: CpuMeter): Promise<RunResult> {
  const fleet = await startFleet(url, side);
  try {
    // Connections opened, statements prepared, plans cached, the listener proven: then cleared.
    await burst(admin, fleet, side, WARMUP_JOBS);
    await clear(admin, side);
    await fleet.idle();
    const { seconds, cpu } = await burst(admin, fleet, side, JOBS, meter);
    let duplicates: number;
    let notCompleted: number;
    if (isGraphile(side)) {
      duplicates = fleet.duplicateRuns() ?? 0;
      notCompleted = Number((await admin.query<{ n: string }>('select count(*) as n from graphile_worker._private_jobs')).rows[0]!.n);
    } else {
      const { rows } = await admin.query<{ claims: number; claimed_jobs: number; left: number }>(
        `select (select count(*)::integer from public.job_events where to_status = 'running') as claims,
                (select count(distinct job_id)::integer from public.job_events where to_status = 'running') as claimed_jobs,
                (select count(*)::integer from public.jobs where status <> 'succeeded') as left`,
      );
      duplicates = rows[0]!.claims - rows[0]!.claimed_jobs;
      notCompleted = rows[0]!.left;
    }
    return {
      jobs: JOBS,
      seconds: round(seconds, 2),
      jobs_per_second: Math.round(JOBS / seconds),
      cpu_us_per_job: cpu.postgres_us_per_job === null || cpu.node_us_per_job === null ? null : cpu.postgres_us_per_job + cpu.node_us_per_job,
      ...cpu,
      duplicate_executions: duplicates,
      not_completed: notCompleted,
    };
  } finally {
    await fleet.stop();
    await clear(admin, side);
  }
}

export async function jobHealthAtScale(db: pg.Pool) {
  const client = await db.connect();
  try {
    const history = await generateHealthHistory(client, { jobs: HEALTH_JOBS, calls: HEALTH_CALLS });

    const timings: number[] = [];
    let sample: { series: { bucket: unknown[] }; models: { model_id: string; p95_ms: number }[]; totals: unknown } | undefined;
    await as(client, 'admin', async (c) => {
      for (let i = 0; i < HEALTH_RUNS + 3; i++) {
        const t = performance.now();
        const { rows } = await c.query(`select public.job_health('24 hours', '1 minute') as h`);
        // The first calls warm caches and plan; they are not what a refreshing dashboard sees.
        if (i >= 3) timings.push(performance.now() - t);
        sample = rows[0].h;
      }
    });
    timings.sort((a, b) => a - b);
    return {
      jobs: HEALTH_JOBS,
      provider_calls: HEALTH_CALLS,
      window: '24 hours',
      bucket: '1 minute',
      ...history,
      runs: timings.length,
      series_buckets: sample?.series.bucket.length ?? 0,
      p95_latency_by_model_ms: Object.fromEntries((sample?.models ?? []).map((m) => [m.model_id, m.p95_ms])),
      totals: sample?.totals,
      p50_ms: round(percentile(timings, 0.5), 2),
      p95_ms: round(percentile(timings, 0.95), 2),
      p99_ms: round(percentile(timings, 0.99), 2),
    };
  } finally {
    client.release();
  }
}

/** The median over the rounds of a per-round ratio of two sides' figures. */
function medianRatio(rounds: Record<Side, RunResult>[], figure: (r: RunResult) => number | null, top: Side, bottom: Side) {
  const ratios = rounds.map((r) => {
    const a = figure(r[top]);
    const b = figure(r[bottom]);
    return a === null || b === null || b === 0 ? null : a / b;
  });
  const m = median(ratios);
  return m === null ? null : round(m, 2);
}

export default async function queueBenchmark(): Promise<Record<string, unknown>> {
  const database = await createTestDatabase();
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    const utils = await makeWorkerUtils({ connectionString: database.url, logger: silentLogger });
    await utils.migrate();
    await utils.release();
    await admin.query(THROUGH_TRIGGER_SQL);
    const meter = await CpuMeter.forCluster(database.url);

    // The machine is shared: a neighbour's burst during one side's run would otherwise decide a
    // ratio. So every side runs once per round, the order reversed every other round, and each
    // ratio is the median of the rounds' own ratios.
    const rounds: Record<Side, RunResult>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
      const results = {} as Record<Side, RunResult>;
      for (const side of order) results[side] = await runSide(database.url, admin, side, meter);
      rounds.push(results);
    }

    // job_health on a database of its own: the throughput rounds above delete what they made,
    // and history written into the freed pages would scatter job_events.at across them, so its
    // reads would measure that table's layout rather than the history's (the tail is found
    // through a B-tree on time, which the retention pass made necessary: docs/retention.md).
    const healthDatabase = await createTestDatabase();
    const healthDb = new pg.Pool({ connectionString: healthDatabase.url, max: 2 });
    const health = await jobHealthAtScale(healthDb).finally(async () => {
      await healthDb.end();
      await healthDatabase.drop();
    });

    const medianOf = (side: Side) => {
      const runs = rounds.map((r) => r[side]);
      return {
        jobs_per_second: median(runs.map((r) => r.jobs_per_second)),
        cpu_us_per_job: median(runs.map((r) => r.cpu_us_per_job)),
        postgres_us_per_job: median(runs.map((r) => r.postgres_us_per_job)),
        node_us_per_job: median(runs.map((r) => r.node_us_per_job)),
      };
    };
    const jobsPerSecond = (r: RunResult) => r.jobs_per_second;
    const cpuPerJob = (r: RunResult) => r.cpu_us_per_job;
    const duplicates = Object.fromEntries(SIDES.map((side) => [side, rounds.reduce((sum, r) => sum + r[side].duplicate_executions, 0)])) as Record<Side, number>;
    const notCompleted = SIDES.reduce((sum, side) => sum + rounds.reduce((s, r) => s + r[side].not_completed, 0), 0);
    const ratioBatched = medianRatio(rounds, jobsPerSecond, 'ours_batch_50', 'graphile_batched');
    const ratioBatchOne = medianRatio(rounds, jobsPerSecond, 'ours_batch_1', 'graphile_defaults');
    return {
      throughput: {
        workers: WORKERS,
        connections_per_side: `${WORKERS} working + 1 listening`,
        jobs_per_run: JOBS,
        warmup_jobs_per_run: WARMUP_JOBS,
        rounds: ROUNDS,
        batch_size: BATCH,
        graphile_worker_presets: GRAPHILE_PRESETS,
        // Ours over theirs, median of the rounds' own ratios.
        ratio_vs_graphile_batched: ratioBatched,
        ratio_batch_1: ratioBatchOne,
        // CPU per job (Postgres cluster + Node), ours over theirs: below 1, ours costs the machine less per job.
        cpu_per_job_ratio_vs_graphile_batched: medianRatio(rounds, cpuPerJob, 'ours_batch_50', 'graphile_batched'),
        cpu_per_job_ratio_batch_1: medianRatio(rounds, cpuPerJob, 'ours_batch_1', 'graphile_defaults'),
        median_of_rounds: Object.fromEntries(SIDES.map((side) => [side, medianOf(side)])),
        runs: rounds,
      },
      complete_jobs_own_writes: {
        // The same rounds' ours_batch_50 over ours_batch_50_through_trigger, median of the rounds.
        jobs_per_second_ratio_own_writes_over_trigger: medianRatio(rounds, jobsPerSecond, 'ours_batch_50', 'ours_batch_50_through_trigger'),
        cpu_per_job_ratio_own_writes_over_trigger: medianRatio(rounds, cpuPerJob, 'ours_batch_50', 'ours_batch_50_through_trigger'),
        own_writes: medianOf('ours_batch_50'),
        through_trigger: medianOf('ours_batch_50_through_trigger'),
      },
      duplicates,
      job_health: health,
      targets: { duplicate_executions: 0, not_completed: 0, job_health_p95_ms: 50 },
      pass: {
        duplicates: Object.values(duplicates).every((d) => d === 0),
        not_completed: notCompleted === 0,
        job_health_p95: health.p95_ms <= 50,
      },
    };
  } finally {
    await admin.end();
    await database.drop();
  }
}
