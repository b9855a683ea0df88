import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import { createTestDatabase, DEMO_USERS } from '../tests/support/database.ts';
import { CpuMeter } from './cpu.ts';
import { generateHealthHistory } from './health-history.ts';
import { as, FLASH } from '../tests/support/fixtures.ts';
import { median, percentile, round } from '../tests/support/percentiles.ts';

/**
 * `npm run bench queue`: the job pipeline as a queue, against graphile-worker on the same
 * Postgres, and job_health at production scale.
 *
 * 1. Throughput: JOBS no-op jobs enqueued by SQL, then WORKERS concurrent loops (one connection
 *    each) doing claim_jobs(batch) and complete_job per claimed job until the queue is empty.
 *    Duplicate executions are counted from job_events (a job claimed more than once). The same
 *    number of jobs then runs through graphile-worker (concurrency WORKERS, a no-op task) with
 *    duplicates counted by job id. A batch-size-1 run of ours is included for honesty: it is
 *    the closest to graphile-worker's one-job-per-fetch default.
 * 2. job_health over 24 hours in 1-minute buckets, with 1,000,000 jobs (3,000,000 timeline
 *    events) and 1,000,000 provider calls generated over the last 24 hours and rolled up.
 */
const JOBS = 20_000;
const WORKERS = 4;
const BATCH = 50;
const ROUNDS = 4;
const WARMUP_JOBS = 2_000;
const HEALTH_JOBS = 1_000_000;
const HEALTH_CALLS = 1_000_000;
const HEALTH_RUNS = 100;
const MODEL = FLASH;

const silentLogger = new Logger(() => () => {});


async function enqueueNoops(db: pg.Pool, n: number): Promise<void> {
  await db.query(
    `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
     select $1, $2, 'no-op ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $3::integer) g`,
    [DEMO_USERS.alice.id, MODEL, n],
  );
}

export async function runOurs(url: string, db: pg.Pool, batch: number, jobs = JOBS, meter?: CpuMeter) {
  await enqueueNoops(db, jobs);
  await db.query('vacuum analyze public.jobs');
  const before = await db.query<{ n: string }>(`select coalesce(max(id), 0) as n from public.job_events`);
  const clients = await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  let executed = 0;
  const cpuBefore = meter?.sample() ?? null;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, w) => {
      for (;;) {
        // Named prepared statements, as graphile-worker uses by default: parsed once per connection.
        const { rows } = await client.query<{ id: string; lease_token: string }>({
          name: 'claim',
          text: 'select id, lease_token from public.claim_jobs($1, $2, 60)',
          values: [`bench-${w}`, batch],
        });
        if (rows.length === 0) return;
        for (const job of rows) {
          const done = await client.query<{ r: { outcome: string } }>({
            name: 'complete',
            text: 'select public.complete_job($1, $2) as r',
            values: [job.id, job.lease_token],
          });
          if (done.rows[0]!.r.outcome === 'succeeded') executed += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = CpuMeter.between(cpuBefore, meter?.sample() ?? null, executed);
  await Promise.all(clients.map((c) => c.end()));
  const check = await db.query<{ claims: number; claimed_jobs: number; left: number }>(
    `select (select count(*)::integer from public.job_events where id > $1 and to_status = 'running') as claims,
            (select count(distinct job_id)::integer from public.job_events where id > $1 and to_status = 'running') as claimed_jobs,
            (select count(*)::integer from public.jobs where status <> 'succeeded') as left`,
    [before.rows[0]!.n],
  );
  const { claims, claimed_jobs, left } = check.rows[0]!;
  // Clear the finished jobs so the next run starts from the same empty queue.
  await db.query(`set session_replication_role = replica`);
  await db.query(`delete from public.job_events; delete from realtime.messages; delete from public.jobs`);
  await db.query(`set session_replication_role = origin`);
  await db.query('vacuum analyze public.jobs, public.job_events, realtime.messages');
  return {
    batch_size: batch,
    jobs,
    executed,
    seconds: Math.round(seconds * 100) / 100,
    jobs_per_second: Math.round(executed / seconds),
    duplicate_executions: claims - claimed_jobs,
    not_succeeded: left,
    ...cpu,
  };
}

export async function runGraphile(url: string, jobs = JOBS, meter?: CpuMeter) {
  const utils = await makeWorkerUtils({ connectionString: url, logger: silentLogger });
  await utils.migrate();
  for (let i = 0; i < jobs; i += 1000) {
    const specs = Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
      identifier: 'noop',
      payload: { n: i + k },
    }));
    await utils.addJobs(specs);
  }
  await utils.release();

  const seen = new Map<number, number>();
  let executed = 0;
  let resolveDrained!: () => void;
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  const cpuBefore = meter?.sample() ?? null;
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: WORKERS,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: silentLogger,
    taskList: {
      noop: async (payload) => {
        const n = (payload as { n: number }).n;
        seen.set(n, (seen.get(n) ?? 0) + 1);
        executed += 1;
        if (seen.size === jobs) resolveDrained();
      },
    },
  });
  await drained;
  // Completion is what counts: wait until graphile-worker has deleted every completed job.
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  for (;;) {
    const { rows } = await db.query<{ n: number }>('select count(*)::integer as n from graphile_worker.jobs');
    if (rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = CpuMeter.between(cpuBefore, meter?.sample() ?? null, jobs);
  await runner.stop();
  // As after each of our runs: vacuum what the run left dead, so the next round of either
  // system does not pay for this one's churn (without it graphile-worker lost a third of its
  // rate from its first round to its fourth).
  const { rows: tables } = await db.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = 'graphile_worker'`,
  );
  for (const { name } of tables) await db.query(`vacuum analyze ${name}`);
  await db.end();
  return {
    concurrency: WORKERS,
    jobs,
    executed,
    seconds: Math.round(seconds * 100) / 100,
    jobs_per_second: Math.round(jobs / seconds),
    duplicate_executions: executed - seen.size,
    ...cpu,
  };
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

export default async function queueBenchmark(): Promise<Record<string, unknown>> {
  const database = await createTestDatabase();
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    // Four alternating rounds: the machine is shared, and a neighbour's burst during one
    // system's run would otherwise decide the ratio. Reported: the best of each system, and the
    // median of the rounds' own ratios (each round's two runs are minutes apart, not more, so a
    // slow spell tends to hit both). Every round is listed.
    const rounds: { ours: Awaited<ReturnType<typeof runOurs>>; graphile: Awaited<ReturnType<typeof runGraphile>> }[] = [];
    // A warm-up of each first (caches, plans, JIT of both clients), not reported; then the order
    // alternates so neither system always runs on the colder machine.
    const meter = await CpuMeter.forCluster(database.url);
    await runOurs(database.url, db, BATCH, WARMUP_JOBS);
    await runGraphile(database.url, WARMUP_JOBS);
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        const ours = await runOurs(database.url, db, BATCH, JOBS, meter);
        rounds.push({ ours, graphile: await runGraphile(database.url, JOBS, meter) });
      } else {
        const graphile = await runGraphile(database.url, JOBS, meter);
        rounds.push({ ours: await runOurs(database.url, db, BATCH, JOBS, meter), graphile });
      }
    }
    const oursBatchOne = await runOurs(database.url, db, 1, JOBS, meter);
    const best = <T extends { jobs_per_second: number }>(runs: T[]) => runs.reduce((a, b) => (b.jobs_per_second > a.jobs_per_second ? b : a));
    const ours = best(rounds.map((r) => r.ours));
    const graphile = best(rounds.map((r) => r.graphile));
    // job_health on a database of its own: the throughput rounds above delete what they made,
    // and history written into the freed pages would scatter job_events.at across them, which
    // the BRIN index the not-yet-rolled-up tail is found through cannot skip (the real table
    // is append-only, so it never looks like that).
    const healthDatabase = await createTestDatabase();
    const healthDb = new pg.Pool({ connectionString: healthDatabase.url, max: 2 });
    const health = await jobHealthAtScale(healthDb).finally(async () => {
      await healthDb.end();
      await healthDatabase.drop();
    });
    const ratio = Math.round((ours.jobs_per_second / graphile.jobs_per_second) * 100) / 100;
    const ratioMedian = Math.round(median(rounds.map((r) => r.ours.jobs_per_second / r.graphile.jobs_per_second))! * 100) / 100;
    // CPU per job, median over the rounds: what each system costs the machine, which the
    // neighbours' load moves far less than it moves the wall clock.
    const cpuOf = (runs: { postgres_us_per_job: number | null; node_us_per_job: number | null }[]) => {
      const postgres = median(runs.map((r) => r.postgres_us_per_job));
      const node = median(runs.map((r) => r.node_us_per_job));
      return { postgres, node, total: postgres === null || node === null ? null : postgres + node };
    };
    const cpuOurs = cpuOf(rounds.map((r) => r.ours));
    const cpuGraphile = cpuOf(rounds.map((r) => r.graphile));
    const duplicates = [...rounds.flatMap((r) => [r.ours.duplicate_executions, r.graphile.duplicate_executions]), oursBatchOne.duplicate_executions];
    return {
      throughput: {
        workers: WORKERS,
        jobs: JOBS,
        batch_size: BATCH,
        rounds: rounds.map((r) => ({
          ours_jobs_per_second: r.ours.jobs_per_second,
          graphile_jobs_per_second: r.graphile.jobs_per_second,
          ours_steal_percent: r.ours.steal_percent,
          graphile_steal_percent: r.graphile.steal_percent,
        })),
        ours,
        ours_batch_1: oursBatchOne,
        graphile_worker: graphile,
        ratio,
        ratio_median_of_rounds: ratioMedian,
        ratio_batch_1: Math.round((oursBatchOne.jobs_per_second / graphile.jobs_per_second) * 100) / 100,
        // Median CPU microseconds per job (Postgres cluster, the benchmark's Node process) and
        // graphile-worker's total over ours: above 1 means ours costs the machine less per job.
        cpu_us_per_job: { ours: cpuOurs, graphile_worker: cpuGraphile },
        cpu_ratio: cpuOurs.total && cpuGraphile.total ? Math.round((cpuGraphile.total / cpuOurs.total) * 100) / 100 : null,
      },
      job_health: health,
      targets: { ratio: 1.0, duplicate_executions: 0, job_health_p95_ms: 50 },
      pass: {
        ratio: ratio >= 1.0,
        ratio_median_of_rounds: ratioMedian >= 1.0,
        duplicates: duplicates.every((d) => d === 0),
        job_health_p95: health.p95_ms <= 50,
      },
    };
  } finally {
    await db.end();
    await database.drop();
  }
}
