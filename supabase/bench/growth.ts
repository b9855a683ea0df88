import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startWorkerDispatch } from '../local/worker-dispatch.ts';
import { FLASH, startWorkerFixture } from '../tests/job-worker/worker-fixture.ts';
import { createTestDatabase } from '../../testkit/database/cluster.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { as } from '../../testkit/database/fixtures.ts';
import { percentile, round } from '../../testkit/percentiles.ts';
import { processCpuMs } from './cpu.ts';
import { until } from '../../testkit/wait.ts';
import { ADMIN_JOB_ROW_COLUMNS } from '../../lib/admin-jobs/admin-job-schema.ts';
import { JOB_COLUMNS } from '../../lib/jobs/job-schema.ts';
import { generateHealthHistory } from './health-history.ts';

/**
 * `npm run bench growth`: what the database keeps per job, what retention removes, and what a
 * long history costs the pipeline before and after a retention pass.
 *
 * 1. Bytes per job (`db_bytes_per_job`): REAL_JOBS jobs through the real path (create_job as
 *    the demo users, the scheduler's wake-up, the worker in real Deno calling the Gemini
 *    stand-in, the image through the Storage API), after WARM_JOBS warm-up jobs.
 *    Every relation in the database (tables with their indexes and TOAST, partitions under
 *    their parent) measured before and after; the difference per job, split into what the
 *    policy keeps (jobs, ledger, Storage's rows, ...), what retention prunes, and
 *    realtime.messages on its own (Realtime's, dropped after a few days by Realtime).
 * 2. Steady state at a million jobs a day: the pruned bytes per job times 1e6 times each
 *    kind's default window; the kept bytes per job times 1e6 per day.
 * 3. A 60-day history (HISTORY_JOBS jobs, their events and calls) in a throwaway database:
 *    claim + complete throughput with it over without it (the median of rounds against an
 *    empty database on the same cluster, the side going first alternating, after both were
 *    vacuumed and analysed, a checkpoint and an uncounted round each; the claimers' backends'
 *    CPU per job and the pages read from outside the buffer cache per job the same way), job_health p95 over 24 h, 7 d and 90 d, the explorer's and the gallery's
 *    first page p95, each with its backend's CPU per call; then the retention pass run until
 *    it finds nothing (its duration and rows) while claimers run beside it, each claim timed:
 *    the longest claim during the pass (`prune_max_claim_wait_ms`) beside the longest claim of
 *    the same claimers without it; then the same figures after the pass, and the tables' size
 *    and dead tuples after a plain VACUUM.
 * 4. Batched deletes against daily partitions, for job_events: a job's timeline read (the
 *    console's job page) on the table as it is and on a copy partitioned by day.
 * GROWTH_PARTS=per-job or =history runs one part (both by default); GROWTH_HISTORY_JOBS sets
 * the history's size (2,000,000 by default).
 */
const WARM_JOBS = 80;
const REAL_JOBS = Number(process.env.GROWTH_REAL_JOBS ?? 1200);
const PARTS = (process.env.GROWTH_PARTS ?? 'per-job,history').split(',');
const HISTORY_DAYS = 60;
const HISTORY_JOBS = Number(process.env.GROWTH_HISTORY_JOBS ?? 2_000_000);
// Rounds of about 3 s a side, 9 of them: with 3,000 jobs (1.5 s) and 5 rounds, two full-size
// runs of the same code at a load under 4 gave medians of 1.23 and 0.88 before the pass, and
// single rounds of one run moved between 0.81 and 1.08.
const THROUGHPUT_JOBS = 6000;
const THROUGHPUT_ROUNDS = 9;
const CLAIMERS = 4;
const READ_RUNS = 30;

// Each relation's share: what retention removes per job (by its policy kind). The rollups are
// not here: they grow with time and the number of models (a row per model per minute or hour,
// busy or idle), not with jobs, so their steady state is computed from their row sizes in the
// history (below), not per job.
const PRUNED: Record<string, string> = {
  'public.job_events': 'job_events',
  'public.provider_calls': 'provider_calls',
  'public.alert_incident_events': 'alert_values',
  'public.alert_deliveries': 'alert_deliveries',
};
const ROLLUPS: Record<string, { kind: 'metrics_minute' | 'metrics_hour'; rowsPerModelDay: number }> = {
  'public.metrics_job_minute': { kind: 'metrics_minute', rowsPerModelDay: 1440 },
  'public.metrics_provider_minute': { kind: 'metrics_minute', rowsPerModelDay: 1440 },
  'public.metrics_job_hour': { kind: 'metrics_hour', rowsPerModelDay: 24 },
  'public.metrics_provider_hour': { kind: 'metrics_hour', rowsPerModelDay: 24 },
};
const DEFAULT_DAYS: Record<string, number> = {
  job_events: 21, provider_calls: 21, alert_values: 30, alert_deliveries: 30, metrics_minute: 42, metrics_hour: 400,
};
// Models in the registry: the rollups' rows per minute or hour.
const MODELS = 2;
// realtime.messages partitions live for today plus the days Realtime keeps (3 here, as the
// local Realtime; hosted "a few").
const REALTIME_DAYS = 4;

async function relationSizes(db: pg.Pool | pg.PoolClient): Promise<Map<string, number>> {
  const { rows } = await db.query<{ relation: string; bytes: string }>(
    `select coalesce(pn.nspname || '.' || p.relname, n.nspname || '.' || c.relname) as relation,
            sum(pg_total_relation_size(c.oid))::bigint as bytes
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_inherits i on i.inhrelid = c.oid
       left join pg_class p on p.oid = i.inhparent
       left join pg_namespace pn on pn.oid = p.relnamespace
      where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      group by 1`,
  );
  return new Map(rows.map((r) => [r.relation, Number(r.bytes)]));
}

/**
 * What each relation's rows occupy: the heap (and TOAST) less the free space pgstattuple finds
 * in it, plus the indexes' files. A table's file grows in steps (under concurrent inserts
 * Postgres extends it by up to 64 pages at a time, and a few hundred jobs fill one or two such
 * steps), so over a run this short the file-size difference of one relation swings by a factor
 * of three between runs. At its steady state a pruned table reuses the space the pass frees, so
 * what its window's rows occupy is what it holds. Whole tables are read: small ones only.
 */
async function occupiedSizes(db: pg.Pool | pg.PoolClient, relations: string[]): Promise<Map<string, number>> {
  await db.query('create extension if not exists pgstattuple');
  const sizes = new Map<string, number>();
  for (const relation of relations) {
    const { rows } = await db.query<{ bytes: string }>(
      `with rels as (
         select c.oid, c.reltoastrelid from pg_class c where c.oid = $1::regclass
         union all
         select i.inhrelid, ch.reltoastrelid from pg_inherits i join pg_class ch on ch.oid = i.inhrelid where i.inhparent = $1::regclass
       ), heaps as (
         select oid from rels union all select reltoastrelid from rels where reltoastrelid <> 0
       )
       select (coalesce((select sum(s.table_len - s.free_space) from heaps h, lateral pgstattuple(h.oid) s), 0)
             + coalesce((select sum(pg_indexes_size(h.oid)) from heaps h), 0))::bigint as bytes`,
      [relation],
    );
    sizes.set(relation, Number(rows[0]!.bytes));
  }
  return sizes;
}

async function bytesPerJob() {
  const f = await startWorkerFixture({
    // The worker's production timeouts: on a loaded machine the tests' short ones would turn
    // slow answers into retries, and each retry into more rows than a job really leaves.
    functions: {
      instances: 1,
      env: {
        WORKER_CONCURRENCY: '50',
        GEMINI_CALL_TIMEOUT_MS: '30000',
        WORKER_ATTEMPT_BUDGET_MS: '60000',
        WORKER_WALL_CLOCK_MS: '140000',
        WORKER_LEASE_SECONDS: '60',
        WORKER_HEARTBEAT_MS: '20000',
      },
    },
  });
  const dispatch = await startWorkerDispatch({ dbUrl: f.stack.dbUrl, apiUrl: f.stack.apiUrl, secretKey: f.stack.secretKey, sweepMs: 2_000 });
  try {
    await f.db.query(`update public.models set rate_per_minute = 100000`);
    await f.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
       select id, 100000, 'grant', 'database', 'benchmark' from auth.users`,
    );
    const users = ['alice', 'bob', 'support', 'admin'] as const;
    const noneQueued = async () =>
      !(await f.db.query<{ queued: boolean }>(`select exists (select 1 from public.jobs where status = 'queued') as queued`)).rows[0]!.queued;
    const run = async (n: number) => {
      // Waves of 20 per user: create_job allows 20 queued jobs per user.
      for (let i = 0; i < n; i++) {
        for (;;) {
          try {
            await f.enqueue(users[i % users.length]!, FLASH);
            break;
          } catch (error) {
            // A retried job back in the queue counts against its user's 20.
            if ((error as { code?: string }).code !== 'PT429') throw error;
            await until(noneQueued, { timeoutMs: 300_000, intervalMs: 50, label: 'the queue to drain' });
          }
        }
        if (i % 80 === 79) await until(noneQueued, { timeoutMs: 300_000, intervalMs: 50, label: 'the wave to start' });
      }
      await until(
        async () => !(await f.db.query<{ open: boolean }>(`select exists (select 1 from public.jobs where status in ('queued', 'running')) as open`)).rows[0]!.open,
        { timeoutMs: 600_000, intervalMs: 200, label: 'every job to finish' },
      );
    };
    await run(WARM_JOBS);
    const before = await relationSizes(f.db);
    const occupiedBefore = await occupiedSizes(f.db, Object.keys(PRUNED));
    const started = performance.now();
    await run(REAL_JOBS);
    const seconds = (performance.now() - started) / 1000;
    const after = await relationSizes(f.db);
    const occupiedAfter = await occupiedSizes(f.db, Object.keys(PRUNED));
    const { rows: outcome } = await f.db.query<{ succeeded: number; objects: number; messages: number }>(
      `select (select count(*) from public.jobs where status = 'succeeded')::int as succeeded,
              (select count(*) from storage.objects)::int as objects,
              (select count(*) from realtime.messages)::int as messages`,
    );
    const kept: Record<string, number> = {};
    const pruned: Record<string, number> = {};
    let realtime = 0;
    for (const [relation, bytes] of after) {
      const delta = (bytes - (before.get(relation) ?? 0)) / REAL_JOBS;
      if (delta === 0 || ROLLUPS[relation] || relation === 'public.retention_table_samples') continue;
      if (relation === 'realtime.messages') realtime = delta;
      else if (PRUNED[relation]) pruned[relation] = Math.round(delta);
      else kept[relation] = Math.round(delta);
    }
    const { rows: perJob } = await f.db.query<{ events: string; calls: string }>(
      `select (select count(*) from public.job_events) as events, (select count(*) from public.provider_calls) as calls`,
    );
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const occupied: Record<string, number> = {};
    for (const relation of Object.keys(PRUNED)) {
      const delta = Math.round(((occupiedAfter.get(relation) ?? 0) - (occupiedBefore.get(relation) ?? 0)) / REAL_JOBS);
      if (delta !== 0) occupied[relation] = delta;
    }
    // Steady state: each pruned relation holds its window's worth of jobs, at what their rows
    // occupy (the file-size figure beside it for comparison).
    const steady = (perJob: Record<string, number>) =>
      Object.entries(perJob).reduce((total, [relation, b]) => total + b * 1e6 * DEFAULT_DAYS[PRUNED[relation]!]!, 0);
    const steadyBytes = steady(occupied);
    return {
      jobs: REAL_JOBS,
      warm_up_jobs: WARM_JOBS,
      seconds: round(seconds, 1),
      succeeded_total: outcome[0]!.succeeded,
      storage_objects_total: outcome[0]!.objects,
      realtime_messages_per_job: round(outcome[0]!.messages / (REAL_JOBS + WARM_JOBS), 1),
      job_events_per_job: round(Number(perJob[0]!.events) / (REAL_JOBS + WARM_JOBS), 2),
      provider_calls_per_job: round(Number(perJob[0]!.calls) / (REAL_JOBS + WARM_JOBS), 2),
      db_bytes_per_job: Math.round(sum(kept) + sum(pruned) + realtime),
      kept_bytes_per_job: { total: sum(kept), ...kept },
      pruned_bytes_per_job: { total: sum(pruned), ...pruned },
      pruned_occupied_bytes_per_job: { total: sum(occupied), ...occupied },
      realtime_bytes_per_job: Math.round(realtime),
      raw_steady_state_gb_at_1m_jobs_per_day: round(steadyBytes / 1e9, 1),
      raw_steady_state_gb_from_file_growth: round(steady(pruned) / 1e9, 1),
      realtime_steady_state_gb_at_1m_jobs_per_day: round((realtime * 1e6 * REALTIME_DAYS) / 1e9, 1),
      kept_gb_per_day_at_1m_jobs_per_day: round((sum(kept) * 1e6) / 1e9, 2),
    };
  } finally {
    await dispatch.stop();
    await f.stop();
  }
}

/**
 * THROUGHPUT_JOBS fresh jobs drained by CLAIMERS connections (claim 10, complete each): jobs per
 * second, and the claimers' backends' CPU per job (from /proc), which moves far less with the
 * machine's load than the wall clock does. `blocks_read_per_job`: the pages the round's tables and
 * indexes had to read from outside the buffer cache, per job (pg_statio), which is where a long
 * history's larger indexes show. `autovacuum` names what autovacuum was working on in this
 * database when the round started or ended (empty when nothing).
 */
interface ThroughputRound {
  jobs_per_second: number;
  cpu_us_per_job: number | null;
  blocks_read_per_job: number;
  autovacuum: string[];
}
async function throughput(url: string, db: pg.Pool): Promise<ThroughputRound> {
  await db.query(
    `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
     select $1, $2, 'throughput ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $3::integer) g`,
    [DEMO_USERS.alice.id, FLASH, THROUGHPUT_JOBS],
  );
  const vacuuming = async () =>
    (await db.query<{ q: string }>(
      `select regexp_replace(query, '^autovacuum: ', '') as q from pg_stat_activity
        where backend_type = 'autovacuum worker' and datname = current_database()`,
    )).rows.map((r) => r.q);
  const autovacuum = new Set(await vacuuming());
  const blocksRead = async () =>
    Number((await db.query<{ n: string }>(
      `select coalesce(sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0)), 0) as n from pg_statio_user_tables`,
    )).rows[0]!.n);
  const readBefore = await blocksRead();
  const claimers = await Promise.all(Array.from({ length: CLAIMERS }, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const pid = Number((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    return { c, pid, cpuMs: processCpuMs(pid) };
  }));
  const started = performance.now();
  let done = 0;
  let cpuMs: number | null = 0;
  try {
    await Promise.all(claimers.map(async ({ c }, w) => {
      for (;;) {
        const { rows } = await c.query<{ id: string; lease_token: string }>('select id, lease_token from public.claim_jobs($1, 10, 60)', [`tp-${w}`]);
        if (rows.length === 0) return;
        for (const job of rows) await c.query('select public.complete_job($1, $2)', [job.id, job.lease_token]);
        done += rows.length;
      }
    }));
    for (const { pid, cpuMs: before } of claimers) {
      const now = processCpuMs(pid);
      cpuMs = cpuMs === null || now === null || before === null ? null : cpuMs + now - before;
    }
  } finally {
    await Promise.all(claimers.map(({ c }) => c.end()));
  }
  const jobsPerSecond = Math.round(done / ((performance.now() - started) / 1000));
  const read = (await blocksRead()) - readBefore;
  for (const q of await vacuuming()) autovacuum.add(q);
  return {
    jobs_per_second: jobsPerSecond,
    cpu_us_per_job: cpuMs === null ? null : Math.round((cpuMs * 1000) / done),
    blocks_read_per_job: round(read / done, 2),
    autovacuum: [...autovacuum],
  };
}

/**
 * The state System Health is read in on a project at a million jobs a day: everything rolled up
 * as the schedule does every minute, and since the rollups' watermark (30 to 90 s back: the
 * rollup closes a minute 30 s after it ends) only that rate's traffic, which job_health reads raw.
 * The benchmark's own claimers ran many times faster than that just before, so the rollup first
 * waits for their last minute to close, then the tail is written: the rate's jobs over the
 * seconds since the watermark, each with its three timeline rows and one call, as the history's.
 * Returns how many tail jobs were written.
 */
async function settleAsProduction(db: pg.Pool): Promise<number> {
  const { rows: clock } = await db.query<{ wait_ms: number }>(
    `select extract(epoch from date_bin('1 minute', now(), timestamptz 'epoch') + interval '1 minute 31 seconds' - now()) * 1000 as wait_ms`,
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, clock[0]!.wait_ms)));
  await db.query('select public.rollup_metrics()');
  const client = await db.connect();
  try {
    await client.query('set session_replication_role = replica');
    const { rows } = await client.query<{ n: number }>(
      `with span as (
         select rolled_until as since, extract(epoch from now() - rolled_until) as seconds from public.metrics_rollup_state where id
       ), tail as (
         insert into public.jobs (id, user_id, model_id, prompt, status, attempt, max_attempts, credits_cost, deadline_at,
                                  created_at, updated_at, attempted_at, finished_at, run_at)
         select extensions.gen_random_uuid(), case when g % 2 = 0 then $1::uuid else $2::uuid end,
                case when g % 5 = 0 then 'gemini-3-pro-image-preview' else 'gemini-2.5-flash-image' end,
                'tail', 'succeeded', 1, 3, 1, t + interval '30 minutes', t, t, t, t, t
           from span, generate_series(1, round(span.seconds * 1e6 / 86400)::integer) g
          cross join lateral (select span.since + (now() - span.since) * (g / (span.seconds * 1e6 / 86400)) - interval '1 millisecond' as t) tt
         returning id, user_id, model_id, created_at
       ), events as (
         insert into public.job_events (job_id, user_id, model_id, at, from_status, to_status, attempt, actor_role)
         select tail.id, tail.user_id, tail.model_id, tail.created_at, e.f, e.t, e.a, e.actor
           from tail cross join (values (null, 'queued', 0, 'user'), ('queued', 'running', 1, 'worker'), ('running', 'succeeded', 1, 'worker')) e(f, t, a, actor)
       ), calls as (
         insert into public.provider_calls (job_id, user_id, attempt, model_id, worker_id, started_at, duration_ms, http_status, outcome, cost_usd, recorded_at)
         select tail.id, tail.user_id, 1, tail.model_id, 'w1', tail.created_at - interval '8 seconds', 8000, 200, 'ok', 0.039, tail.created_at from tail
       )
       select count(*)::integer as n from tail`,
      [DEMO_USERS.alice.id, DEMO_USERS.bob.id],
    );
    return rows[0]!.n;
  } finally {
    await client.query('set session_replication_role = origin');
    client.release();
  }
}

/** System Health, the explorer and a gallery, each READ_RUNS times, in the state above. */
async function timeReads(db: pg.Pool) {
  const tailJobs = await settleAsProduction(db);
  const client = await db.connect();
  // The p50 beside each p95: on a shared machine a few runs stall behind other processes, and
  // the median shows what the query itself costs.
  // And the backend's CPU per run (from /proc): what the query costs whatever the machine's load,
  // which on a shared machine moves the wall clock by several times.
  const pid = Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
  const timed = async (name: string, actor: 'admin' | 'alice', sql: string, params: unknown[] = []) => {
    const timings: number[] = [];
    let cpuBefore: number | null = null;
    await as(client, actor, async (c) => {
      for (let i = 0; i < READ_RUNS + 3; i++) {
        if (i === 3) cpuBefore = processCpuMs(pid);
        const t = performance.now();
        await c.query(sql, params);
        if (i >= 3) timings.push(performance.now() - t);
      }
    });
    const cpuAfter = processCpuMs(pid);
    return {
      [`${name}_p95_ms`]: round(percentile(timings, 0.95), 2),
      [`${name}_p50_ms`]: round(percentile(timings, 0.5), 2),
      [`${name}_cpu_ms`]: cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / READ_RUNS, 1),
    };
  };
  try {
    return {
      tail_jobs_not_rolled_up: tailJobs,
      ...(await timed('job_health_24h', 'admin', `select public.job_health('24 hours', '15 minutes')`)),
      ...(await timed('job_health_7d', 'admin', `select public.job_health('7 days', '1 hour')`)),
      ...(await timed('job_health_90d', 'admin', `select public.job_health('90 days', '1 day')`)),
      // The explorer's first page (newest first, 50 rows and one to know a next page exists) and
      // a user's gallery (24), with the columns and filters the app asks for.
      ...(await timed('explorer_first_page', 'admin', `select ${ADMIN_JOB_ROW_COLUMNS} from public.jobs order by created_at desc, id desc limit 51`)),
      ...(await timed(
        'gallery_first_page',
        'alice',
        `select ${JOB_COLUMNS}, charge_seq from public.jobs where user_id = $1 and content_deleted_at is null order by created_at desc, id desc limit 24`,
        [DEMO_USERS.alice.id],
      )),
    };
  } finally {
    client.release();
  }
}

/**
 * Two claimers timing each claim_jobs call (claim one, complete it) while `during` runs;
 * returns the longest claim and the p99. Jobs are added in batches when the queue runs dry
 * (not timed).
 */
async function claimWaits(url: string, during: () => Promise<unknown>) {
  const claimers = await Promise.all(Array.from({ length: 2 }, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  }));
  const waits: number[] = [];
  let stop = false;
  const loops = claimers.map(async (c, w) => {
    while (!stop) {
      const t = performance.now();
      const { rows } = await c.query<{ id: string; lease_token: string }>('select id, lease_token from public.claim_jobs($1, 1, 60)', [`wait-${w}`]);
      if (rows.length === 0) {
        await c.query(
          `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
           select $1, $2, 'prune race ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, 2000) g`,
          [DEMO_USERS.alice.id, FLASH],
        );
        continue;
      }
      waits.push(performance.now() - t);
      await c.query('select public.complete_job($1, $2)', [rows[0]!.id, rows[0]!.lease_token]);
    }
  });
  let result: unknown;
  try {
    result = await during();
  } finally {
    stop = true;
    await Promise.all(loops);
    await Promise.all(claimers.map((c) => c.end()));
  }
  return { result, claims: waits.length, max_ms: round(Math.max(...waits), 1), p99_ms: round(percentile(waits, 0.99), 2) };
}

async function history() {
  // Throughput is compared round by round with a database without history on the same cluster,
  // alternating, so the machine's load at the moment weighs on both sides alike.
  const database = await createTestDatabase();
  const empty = await createTestDatabase();
  const db = new pg.Pool({ connectionString: database.url, max: 4 });
  const emptyDb = new pg.Pool({ connectionString: empty.url, max: 2 });
  // An idle connection closed under the pool is replaced on the next query, not a crash.
  db.on('error', () => {});
  emptyDb.on('error', () => {});
  // Each round's ratio (history over empty) for the wall clock and for the claimers' CPU per
  // job; the median of each. At a load of 5 to 8 single rounds of the same two databases moved
  // between 0.7 and 1.4 by the clock, so the CPU ratio is printed beside it.
  // The two sides start every comparison in the same state, or the ratio measures the states:
  // - jobs vacuumed and analysed on both. A database copied from the template has never been
  //   analysed, and its first round planned the claim's queue reads without statistics (720
  //   buffers a job against 90); the history side, just generated or just pruned, has been. A
  //   project's jobs table is kept so by autovacuum (after 10,000 dead versions);
  // - a checkpoint, so neither side's rounds write out pages the history's generation, the
  //   pass or its vacuum left dirty in the shared buffer cache;
  // - a round on each side first that is not counted (new connections, caches);
  // - the sides take turns going first, so neither always runs on the cache the other left.
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratio = async () => {
    // Dead row versions in jobs when the rounds start: each claimed and completed job leaves
    // some, and the queue's partial indexes keep their entries until a vacuum.
    const deadJobs = async (pool: pg.Pool) =>
      Number((await pool.query<{ n: string }>(`select n_dead_tup as n from pg_stat_user_tables where relid = 'public.jobs'::regclass`)).rows[0]!.n);
    const jobsDeadBeforeVacuum = { empty: await deadJobs(emptyDb), history: await deadJobs(db) };
    for (const pool of [emptyDb, db]) await pool.query('vacuum (analyze) public.jobs');
    await db.query('checkpoint');
    await throughput(empty.url, emptyDb);
    await throughput(database.url, db);
    const rounds: { first: 'empty' | 'history'; empty: ThroughputRound; history: ThroughputRound }[] = [];
    for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
      if (i % 2 === 0) {
        const e = await throughput(empty.url, emptyDb);
        rounds.push({ first: 'empty', empty: e, history: await throughput(database.url, db) });
      } else {
        const h = await throughput(database.url, db);
        rounds.push({ first: 'history', empty: await throughput(empty.url, emptyDb), history: h });
      }
    }
    const cpu = rounds.every((r) => r.empty.cpu_us_per_job !== null && r.history.cpu_us_per_job !== null)
      ? round(median(rounds.map((r) => r.history.cpu_us_per_job! / r.empty.cpu_us_per_job!)), 2)
      : null;
    return {
      jobs_dead_tuples_before_vacuum: jobsDeadBeforeVacuum,
      rounds,
      median_ratio: round(median(rounds.map((r) => r.history.jobs_per_second / r.empty.jobs_per_second)), 2),
      median_cpu_per_job_ratio: cpu,
      median_blocks_read_per_job: {
        empty: median(rounds.map((r) => r.empty.blocks_read_per_job)),
        history: median(rounds.map((r) => r.history.blocks_read_per_job)),
      },
    };
  };
  try {
    const client = await db.connect();
    let generated;
    try {
      generated = await generateHealthHistory(client, { jobs: HISTORY_JOBS, calls: HISTORY_JOBS, days: HISTORY_DAYS });
    } finally {
      client.release();
    }
    const counts = async () => {
      const { rows } = await db.query<{ events: string; calls: string; jobs: string }>(
        `select (select count(*) from public.job_events) as events, (select count(*) from public.provider_calls) as calls,
                (select count(*) from public.jobs) as jobs`,
      );
      return { jobs: Number(rows[0]!.jobs), job_events: Number(rows[0]!.events), provider_calls: Number(rows[0]!.calls) };
    };
    const rowsBefore = await counts();
    // The rollups' steady state: bytes per row (table and indexes over rows, 60 days of them)
    // times rows per model and day times the window.
    const rollupRowBytes: Record<string, number> = {};
    let rollupSteadyBytes = 0;
    for (const [relation, { kind, rowsPerModelDay }] of Object.entries(ROLLUPS)) {
      const { rows } = await db.query<{ bytes: string; n: string }>(`select pg_total_relation_size($1::regclass) as bytes, (select count(*) from ${relation}) as n`, [relation]);
      const perRow = Number(rows[0]!.bytes) / Math.max(1, Number(rows[0]!.n));
      rollupRowBytes[relation] = Math.round(perRow);
      rollupSteadyBytes += perRow * MODELS * rowsPerModelDay * DEFAULT_DAYS[kind]!;
    }
    const sizesBefore = await relationSizes(db);
    const readsBefore = await timeReads(db);
    const throughputBefore = await ratio();

    // The timeline under daily partitions: a job's events, read by job id as the console does.
    const partitions = await partitionedTimeline(db);

    // Claims with nothing else running, for the comparison below.
    const idle = await claimWaits(database.url, () => new Promise((resolve) => setTimeout(resolve, 10_000)));
    // The retention pass, as the schedule runs it, until it finds nothing more.
    const pass = await claimWaits(database.url, async () => {
      const started = performance.now();
      let passes = 0;
      let rows = 0;
      let longestPassMs = 0;
      for (;;) {
        const t = performance.now();
        const { rows: r } = await db.query<{ r: { rows: number } }>('select public.prune_expired_data() as r');
        longestPassMs = Math.max(longestPassMs, performance.now() - t);
        passes++;
        rows += r[0]!.r.rows;
        if (r[0]!.r.rows === 0) break;
      }
      return { passes, rows, seconds: round((performance.now() - started) / 1000, 1), longest_pass_ms: Math.round(longestPassMs) };
    });
    const rowsAfter = await counts();
    const sizesAfterPrune = await relationSizes(db);
    await db.query('vacuum (analyze) public.job_events, public.provider_calls, public.metrics_job_minute, public.metrics_provider_minute');
    const sizesAfterVacuum = await relationSizes(db);
    const { rows: dead } = await db.query<{ relname: string; n_dead_tup: string; n_live_tup: string }>(
      `select relname, n_dead_tup, n_live_tup from pg_stat_user_tables where relname in ('job_events', 'provider_calls') order by relname`,
    );
    const readsAfter = await timeReads(db);
    const throughputAfter = await ratio();
    const mb = (m: Map<string, number>, r: string) => round((m.get(r) ?? 0) / 1e6, 1);
    const pruneResult = pass.result as { passes: number; rows: number; seconds: number; longest_pass_ms: number };
    return {
      days: HISTORY_DAYS,
      generated,
      rollup_bytes_per_row: rollupRowBytes,
      rollups_steady_state_gb: round(rollupSteadyBytes / 1e9, 3),
      rows_before: rowsBefore,
      rows_after: rowsAfter,
      claim_complete_rounds: {
        with_history: { jobs_dead_tuples_before_vacuum: throughputBefore.jobs_dead_tuples_before_vacuum, rounds: throughputBefore.rounds },
        after_prune: { jobs_dead_tuples_before_vacuum: throughputAfter.jobs_dead_tuples_before_vacuum, rounds: throughputAfter.rounds },
      },
      throughput_ratio_with_history: throughputBefore.median_ratio,
      throughput_ratio_after_prune: throughputAfter.median_ratio,
      // History over empty, the claimers' Postgres CPU per claimed and completed job (1 = the
      // same cost; above 1 the history makes each job dearer).
      cpu_per_job_ratio_with_history: throughputBefore.median_cpu_per_job_ratio,
      cpu_per_job_ratio_after_prune: throughputAfter.median_cpu_per_job_ratio,
      // Pages read from outside the buffer cache per claimed and completed job (median of the rounds).
      blocks_read_per_job_with_history: throughputBefore.median_blocks_read_per_job,
      blocks_read_per_job_after_prune: throughputAfter.median_blocks_read_per_job,
      throughput_ratio_target: 0.9,
      reads_before_prune: readsBefore,
      reads_after_prune: readsAfter,
      read_target_ms: 50,
      prune: {
        ...pruneResult,
        rows_per_second: Math.round(pruneResult.rows / pruneResult.seconds),
      },
      prune_max_claim_wait_ms: pass.max_ms,
      prune_claim_p99_ms: pass.p99_ms,
      prune_claims_timed: pass.claims,
      idle_max_claim_ms: idle.max_ms,
      idle_claim_p99_ms: idle.p99_ms,
      prune_max_claim_wait_target_ms: 100,
      sizes_mb: Object.fromEntries(['public.job_events', 'public.provider_calls', 'public.jobs', 'public.metrics_job_minute', 'public.metrics_job_hour'].map((r) => [
        r, { before: mb(sizesBefore, r), after_prune: mb(sizesAfterPrune, r), after_vacuum: mb(sizesAfterVacuum, r) },
      ])),
      dead_tuples_after_vacuum: Object.fromEntries(dead.map((d) => [d.relname, { dead: Number(d.n_dead_tup), live: Number(d.n_live_tup) }])),
      partitioned_timeline: partitions,
    };
  } finally {
    await db.end();
    await emptyDb.end();
    await database.drop();
    await empty.drop();
  }
}

/**
 * job_events as it is against a copy partitioned by day: reading one job's timeline (the job
 * page's question: by job id, which is not the partition key), and removing a day's rows
 * (a batched delete here, a DROP there).
 */
async function partitionedTimeline(db: pg.Pool) {
  const client = await db.connect();
  try {
    await client.query(`create table public.bench_events_by_day (like public.job_events) partition by range (at)`);
    await client.query(`do $$
      declare d date;
      begin
        for d in select generate_series(current_date - ${HISTORY_DAYS + 1}, current_date + 1, interval '1 day')::date loop
          execute format('create table public.%I partition of public.bench_events_by_day for values from (%L) to (%L)',
                         'bench_events_' || to_char(d, 'YYYYMMDD'), d, d + 1);
        end loop;
      end $$`);
    await client.query(`insert into public.bench_events_by_day select * from public.job_events`);
    await client.query(`alter table public.bench_events_by_day add primary key (job_id, id, at)`);
    await client.query(`analyze public.bench_events_by_day`);
    const { rows: sample } = await client.query<{ job_id: string }>(
      `select job_id from public.job_events tablesample system (0.1) limit ${READ_RUNS}`,
    );
    const time = async (table: string) => {
      const timings: number[] = [];
      for (const [i, { job_id }] of [...sample, ...sample.slice(0, 3)].entries()) {
        const t = performance.now();
        await client.query(`select * from public.${table} where job_id = $1 order by at, id`, [job_id]);
        if (i >= 3) timings.push(performance.now() - t);
      }
      return round(percentile(timings, 0.95), 3);
    };
    const single = await time('job_events');
    const byDay = await time('bench_events_by_day');
    return {
      partitions: HISTORY_DAYS + 3,
      timeline_read_p95_ms: { single_table: single, partitioned_by_day: byDay },
    };
  } finally {
    await client.query('drop table if exists public.bench_events_by_day');
    client.release();
  }
}

export default async function growthBenchmark() {
  const perJob = PARTS.includes('per-job') ? await bytesPerJob() : null;
  const longHistory = PARTS.includes('history') ? await history() : null;
  return {
    ...perJob,
    // Everything retention prunes at its steady state: the raw rows' windows of a million jobs a
    // day plus the rollups' windows.
    steady_state_gb_at_1m_jobs_per_day:
      perJob && longHistory ? round(perJob.raw_steady_state_gb_at_1m_jobs_per_day + longHistory.rollups_steady_state_gb, 1) : null,
    steady_state_target_gb: 40,
    history: longHistory,
    history_jobs: HISTORY_JOBS,
    stand_in_note: `${FLASH} via the local Gemini stand-in; its images are 1024x1024 PNGs, the model's default size (Storage's bytes are outside the database)`,
  };
}
