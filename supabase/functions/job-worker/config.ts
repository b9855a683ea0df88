/**
 * The worker's knobs, read once from the environment (Supabase secrets in production, the
 * gateway's function env locally). Defaults are sized for hosted edge functions: 150 s of wall
 * clock, 256 MB.
 */
export interface WorkerConfig {
  geminiApiKey: string;
  /** Points @google/genai at another host (the local stand-in); unset means Google. */
  geminiBaseUrl?: string;
  resultsBucket: string;
  /** Jobs in flight per process, at most; the answer budget may allow fewer. */
  concurrency: number;
  /**
   * Memory the Gemini answers of the jobs in flight may take, in MB (answer-budget.ts): the
   * worker claims only the jobs whose answers fit. Sized so that the process stays under the
   * hosted 256 MB with its modules and clients (about 100 MB) and garbage not yet collected.
   */
  answerBudgetMb: number;
  /**
   * Claim no new job later than this after the latest invocation minus one attempt budget, so
   * every attempt ends inside the platform's wall clock (150 s hosted; 140 s leaves 10 s to
   * record, store and complete).
   */
  wallClockBudgetMs: number;
  /** Time one attempt may take, in-attempt retries included. */
  attemptBudgetMs: number;
  /** Per Gemini call. The incident behind this: a call that ran 540 s. */
  callTimeoutMs: number;
  /** Gemini calls per attempt (first call plus in-attempt retries). */
  maxCallsPerAttempt: number;
  leaseSeconds: number;
  heartbeatMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Timeout of the models.get calls that verify the registry at cold start. */
  verifyTimeoutMs: number;
}

type Env = (name: string) => string | undefined;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env(name);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function readWorkerConfig(env: Env): WorkerConfig {
  const geminiApiKey = env('GEMINI_API_KEY') ?? '';
  if (!geminiApiKey) throw new Error('GEMINI_API_KEY is required (supabase secrets set GEMINI_API_KEY=...)');
  const leaseSeconds = integer(env, 'WORKER_LEASE_SECONDS', 60, 5, 3600);
  const callTimeoutMs = integer(env, 'GEMINI_CALL_TIMEOUT_MS', 50_000, 100, 600_000);
  const config: WorkerConfig = {
    geminiApiKey,
    geminiBaseUrl: env('GEMINI_BASE_URL') || undefined,
    resultsBucket: env('WORKER_RESULTS_BUCKET') || 'results',
    concurrency: integer(env, 'WORKER_CONCURRENCY', 8, 1, 64),
    answerBudgetMb: integer(env, 'WORKER_ANSWER_BUDGET_MB', 24, 1, 4096),
    wallClockBudgetMs: integer(env, 'WORKER_WALL_CLOCK_MS', 140_000, 1_000, 3_600_000),
    attemptBudgetMs: integer(env, 'WORKER_ATTEMPT_BUDGET_MS', 110_000, 200, 3_600_000),
    callTimeoutMs,
    maxCallsPerAttempt: integer(env, 'WORKER_MAX_CALLS_PER_ATTEMPT', 3, 1, 10),
    leaseSeconds,
    // A third of the lease: two heartbeats can be lost before the reaper may take the job.
    heartbeatMs: integer(env, 'WORKER_HEARTBEAT_MS', Math.floor((leaseSeconds * 1000) / 3), 100, 3_600_000),
    backoffBaseMs: integer(env, 'WORKER_BACKOFF_BASE_MS', 500, 0, 60_000),
    backoffCapMs: integer(env, 'WORKER_BACKOFF_CAP_MS', 8_000, 0, 600_000),
    verifyTimeoutMs: integer(env, 'WORKER_VERIFY_TIMEOUT_MS', 10_000, 100, 120_000),
  };
  if (config.heartbeatMs >= leaseSeconds * 1000) {
    throw new Error('WORKER_HEARTBEAT_MS must be shorter than the lease (WORKER_LEASE_SECONDS)');
  }
  if (config.attemptBudgetMs > config.wallClockBudgetMs) {
    throw new Error('WORKER_ATTEMPT_BUDGET_MS must not exceed WORKER_WALL_CLOCK_MS');
  }
  return config;
}
