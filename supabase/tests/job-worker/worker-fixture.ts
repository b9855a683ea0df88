import { GoogleGenAI } from '@google/genai';
import type { DatabaseClient } from '../../../lib/supabase/database.ts';
import type pg from 'pg';
import { imageDimensions, promptImage } from '../../local/gemini/image.ts';
import { startGeminiStandIn, type RunningGeminiStandIn } from '../../local/gemini/server.ts';
import { createFunctionsService, type FunctionsService } from '../../local/gateway/functions/index.ts';
import { createTestClient } from '../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../testkit/http/stack.ts';
import { systemClock } from '../../functions/job-worker/clock.ts';
import { readWorkerConfig, type WorkerConfig } from '../../functions/job-worker/config.ts';
import { createModelRegistry } from '../../functions/job-worker/model-registry.ts';
import { createPipeline, type ClaimedJob, type Pipeline } from '../../functions/job-worker/pipeline.ts';
import { createResultStore } from '../../functions/job-worker/result-store.ts';
import type { AttemptDeps } from '../../functions/job-worker/run-attempt.ts';
import { query } from '../../../testkit/database/fixtures.ts';

/**
 * The worker's logic wired to real parts for the Node tests and `npm run bench worker`: a stack of its own
 * (Postgres with every migration, the gateway's REST and Storage), the official supabase-js
 * client with the service-role key, and the official @google/genai SDK pointed at the Gemini
 * stand-in. Leases, heartbeats and backoff are scaled down so each fault class plays out in about
 * a second. The call timeout and the attempt budget are not: an answer that is merely slow on a
 * busy machine must never become a timeout. A test about hung calls sets its own short timeout.
 */
import { FLASH } from '../../../testkit/database/fixtures.ts';

export { FLASH, PRO } from '../../../testkit/database/fixtures.ts';

/** The prompt `enqueue` uses unless told. */
export const DEFAULT_PROMPT = 'a lighthouse at dusk';

export const FAST_WORKER_ENV: Record<string, string> = {
  GEMINI_API_KEY: 'local-test-key',
  GEMINI_CALL_TIMEOUT_MS: '10000',
  WORKER_ATTEMPT_BUDGET_MS: '20000',
  WORKER_WALL_CLOCK_MS: '60000',
  WORKER_LEASE_SECONDS: '5',
  WORKER_HEARTBEAT_MS: '500',
  WORKER_BACKOFF_BASE_MS: '50',
  WORKER_BACKOFF_CAP_MS: '200',
  WORKER_MAX_CALLS_PER_ATTEMPT: '3',
  WORKER_CONCURRENCY: '8',
};

/**
 * The real Deno worker for benchmarks and the memory check: `slots` jobs at once, production's
 * wall clock, and timeouts long enough that a busy machine never turns a held call into a retry.
 */
export function denoWorkerEnv(slots: number): Record<string, string> {
  return {
    WORKER_CONCURRENCY: String(slots),
    GEMINI_CALL_TIMEOUT_MS: '30000',
    WORKER_ATTEMPT_BUDGET_MS: '60000',
    WORKER_WALL_CLOCK_MS: '140000',
    WORKER_LEASE_SECONDS: '60',
    WORKER_HEARTBEAT_MS: '20000',
  };
}

export interface WorkerFixture {
  stack: TestStack;
  standIn: RunningGeminiStandIn;
  db: pg.Pool;
  service: DatabaseClient;
  pipeline: Pipeline;
  config: WorkerConfig;
  deps: AttemptDeps;
  logs: string[];
  /** The gateway's /functions/v1 service, when the fixture runs the real Deno function. */
  functions?: FunctionsService;
  /** create_job as a demo user, the way the app calls it (role and JWT claims set). */
  enqueue(user: keyof typeof DEMO_USERS, model?: string, options?: Record<string, unknown>, prompt?: string): Promise<{ id: string }>;
  /** Claims exactly this job (it is put first in line), as the worker would. */
  claim(jobId: string): Promise<ClaimedJob>;
  stop(): Promise<void>;
}

export async function startWorkerFixture(
  options: {
    env?: Record<string, string>;
    /** Serve supabase/functions/job-worker from real Deno with this environment over `env`. */
    functions?: { instances?: number; env?: Record<string, string> };
    /** Legacy keys on or off (default: SUPABASE_LEGACY_KEYS). */
    legacyKeys?: boolean;
  } = {},
): Promise<WorkerFixture> {
  const standIn = await startGeminiStandIn({ port: 0, faults: {}, latency: undefined });
  // The stand-in draws a picture on its first answer at a size (about 0.1 s of CPU at 1K, seconds
  // on a busy machine): drawn here, the default prompt's never eats into a test's call timeout.
  for (const aspectRatio of ['1:1', '16:9', '9:16']) {
    const size = imageDimensions(FLASH, aspectRatio)!;
    promptImage(DEFAULT_PROMPT, size.width, size.height);
  }
  const env: Record<string, string> = { ...FAST_WORKER_ENV, GEMINI_BASE_URL: standIn.url, ...options.env };
  let functions: FunctionsService | undefined;
  // Mounted in place of the gateway's own /functions/v1 so the test can reach pids() (to kill
  // worker processes); everything else about it is the gateway's functions service.
  const stack = await startTestStack({
    legacyKeys: options.legacyKeys,
    ...(options.functions
      ? {
          services: {
            '/functions/v1': (ctx) =>
              (functions = createFunctionsService(ctx, {
                instances: options.functions!.instances ?? 1,
                env: { ...env, ...options.functions!.env },
                log: process.env.JOBHEALTH_VERBOSE === '1' ? (l) => console.error(l) : () => {},
              })),
          },
        }
      : {}),
  });
  const config = readWorkerConfig((name) => env[name]);
  const service = createTestClient(stack, stack.secretKey);
  const pipeline = createPipeline(service);
  const logs: string[] = [];
  const ai = new GoogleGenAI({ apiKey: config.geminiApiKey, httpOptions: { baseUrl: standIn.url } });
  const log = (line: string) => logs.push(line);
  const deps: AttemptDeps = {
    pipeline,
    ai,
    results: createResultStore(service, config.resultsBucket),
    registry: createModelRegistry(pipeline, systemClock),
    clock: systemClock,
    random: Math.random,
    config,
    workerId: 'test-worker',
    log,
  };
  const db = stack.db;
  let claimQueue: Promise<unknown> = Promise.resolve();
  return {
    stack,
    standIn,
    db,
    service,
    pipeline,
    config,
    deps,
    logs,
    functions,
    async enqueue(user, model = FLASH, jobOptions = {}, prompt = DEFAULT_PROMPT) {
      const [job] = await query<{ id: string }>(db, user, 'select id from public.create_job($1, $2, $3)', [
        model,
        prompt,
        JSON.stringify(jobOptions),
      ]);
      return job!;
    },
    claim(jobId) {
      // Raising the job to the front and claiming it are two statements: claims made at once
      // would raise each other's jobs in between, so they run one after another.
      const claimed = claimQueue.then(async () => {
        await db.query(
          `update public.jobs set priority = case when id = $1 then 100 else 0 end
            where status = 'queued' and (id = $1 or priority <> 0)`,
          [jobId],
        );
        const [job] = await pipeline.claimJobs('test-worker', 1, config.leaseSeconds);
        if (job?.id !== jobId) throw new Error(`expected to claim ${jobId}, got ${job?.id ?? 'nothing'}`);
        return job;
      });
      claimQueue = claimed.catch(() => {});
      return claimed;
    },
    async stop() {
      await standIn.close();
      await stack.stop();
    },
  };
}

export interface JobRow {
  id: string;
  user_id: string;
  status: string;
  attempt: number;
  run_at: Date;
  stage: string | null;
  error_class: string | null;
  result: Record<string, unknown> | null;
  deadline_at: Date;
  finished_at: Date | null;
  credits_cost: number;
}

export async function jobRow(db: pg.Pool, id: string): Promise<JobRow> {
  const { rows } = await db.query<JobRow>('select * from public.jobs where id = $1', [id]);
  return rows[0]!;
}

export interface CallRow {
  outcome: string;
  http_status: number | null;
  duration_ms: number;
  retry_after_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: string;
  attempt: number;
  worker_id: string;
  started_at: Date;
}

export async function callRows(db: pg.Pool, jobId: string): Promise<CallRow[]> {
  const { rows } = await db.query<CallRow>('select * from public.provider_calls where job_id = $1 order by id', [jobId]);
  return rows;
}

/** The job's ledger entries as [reason, delta] pairs, oldest first. */
export async function ledger(db: pg.Pool, jobId: string): Promise<Array<[string, number]>> {
  const { rows } = await db.query<{ reason: string; delta: string }>(
    'select reason, delta from public.credit_ledger where job_id = $1 order by id',
    [jobId],
  );
  return rows.map((r) => [r.reason, Number(r.delta)]);
}

/** Every account's balance equals the sum of its ledger: the invariant refunds must keep. */
export async function unbalancedAccounts(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`
    select count(*) as n from public.credit_accounts a
     where a.balance <> (select coalesce(sum(l.delta), 0) from public.credit_ledger l where l.user_id = a.user_id)`);
  return Number(rows[0]!.n);
}
