import { createAnswerBudget, MB } from './answer-budget.ts';
import { createRequestedVerification, verifyModels, type VerificationReport } from './model-registry.ts';
import { imagesRequested, runAttempt, type AttemptDeps, type AttemptReport } from './run-attempt.ts';
import type { ClaimedJob } from './pipeline.ts';
import type { ClaimTiming } from './tracing.ts';

/**
 * The worker process: what one edge-function instance does across the invocations it serves.
 *
 * - An invocation claims as many jobs as there are free slots and room in the answer budget
 *   (answer-budget.ts: the Gemini answers in flight must fit in memory; one claim_jobs call), answers at
 *   once, and the jobs run in the background (EdgeRuntime.waitUntil). While the wall-clock
 *   budget of the latest invocation lasts, every finished job frees a slot that is claimed again
 *   right away, so a busy queue keeps the process full without waiting for the next invocation.
 * - New claims stop one attempt budget before the wall clock runs out, so every attempt ends
 *   (stored, recorded, completed) before the platform cuts the process.
 * - At cold start every enabled model is verified with the provider before the first claim;
 *   later, a model an admin asked to verify is checked by the next invocation, beside the claims.
 * - On shutdown every job still held is handed back in one release_jobs call, attempt refunded,
 *   runnable at once by the next worker instead of waiting out its lease.
 */
export interface JobWorkerDeps extends AttemptDeps {
  /** Keeps background work alive after the response (EdgeRuntime.waitUntil). */
  keepAlive?: (work: Promise<unknown>) => void;
  /** Verify the registry with models.get before the first claim and when an admin asks (default true). */
  verifyAtStart?: boolean;
  /** Called after each attempt; tests and benchmarks observe through it. */
  onAttempt?: (report: AttemptReport) => void;
}

export interface InvocationReply {
  worker_id: string;
  claimed: number;
  in_flight: number;
}

export interface JobWorker {
  readonly workerId: string;
  readonly inFlight: number;
  invoke(): Promise<InvocationReply>;
  /** Resolves once nothing is held and no claim is under way. */
  idle(): Promise<void>;
  /** Stops claiming, stops every attempt and releases the jobs they held. */
  shutdown(): Promise<{ released: number }>;
  /** The cold-start verification, once it has run. */
  verification(): Promise<VerificationReport | undefined>;
  /** The latest check of models an admin asked to verify (started by each invocation). */
  requestedVerification(): Promise<VerificationReport | undefined>;
}

interface Held {
  job: ClaimedJob;
  stop: AbortController;
  /** Its share of the answer budget, given back when it ends. */
  weight: number;
}

export function createJobWorker(deps: JobWorkerDeps): JobWorker {
  const { clock, config, pipeline } = deps;
  const held = new Map<string, Held>();
  const answers = createAnswerBudget(config.answerBudgetMb * MB);
  const attemptDeps = { ...deps, observeAnswer: answers.observe };
  let stopping = false;
  /** Attempts started and not yet past their trace flush. */
  let attemptsRunning = 0;
  let wallClockEnds = 0;
  let claiming: Promise<number> = Promise.resolve(0);
  let pendingClaims = 0;
  let idleWaiters: Array<() => void> = [];
  let startup: Promise<VerificationReport | undefined> | undefined;

  const checkIdle = () => {
    if (held.size > 0 || pendingClaims > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const claimWindowOpen = () => !stopping && clock.now() < wallClockEnds - config.attemptBudgetMs;

  const claimOnce = async (): Promise<number> => {
    const free = Math.min(config.concurrency - held.size, answers.room());
    if (free <= 0 || !claimWindowOpen()) return 0;
    let jobs: ClaimedJob[];
    const claimStart = clock.now();
    try {
      jobs = await pipeline.claimJobs(deps.workerId, free, config.leaseSeconds);
    } catch (error) {
      deps.log(`claim failed: ${(error as Error).message}`);
      return 0;
    }
    const claim = { start: claimStart, end: clock.now() };
    for (const job of jobs) start(job, claim);
    return jobs.length;
  };

  // Claims run one at a time per process: two overlapping claims would each size themselves
  // to the same free slots and overfill the process.
  const fill = (): Promise<number> => {
    pendingClaims += 1;
    const next = claiming.then(claimOnce, claimOnce).finally(() => {
      pendingClaims -= 1;
      checkIdle();
    });
    claiming = next;
    return next;
  };

  const start = (job: ClaimedJob, claim: ClaimTiming) => {
    if (stopping) return;
    const stop = new AbortController();
    held.set(job.id, { job, stop, weight: answers.take(imagesRequested(job)) });
    attemptsRunning += 1;
    const run = runAttempt(attemptDeps, job, { stop: stop.signal, notAfter: wallClockEnds, claim })
      // The spans leave inside the work the invocation keeps alive: when this was the last
      // attempt running (counted here, synchronously, so of attempts ending in the same tick
      // the last one sends), so before idle() resolves and before the process can be stopped;
      // or when enough are waiting, or have waited long enough, to be worth a request
      // (tracing.due). tracing.flush never rejects.
      .finally(() => {
        attemptsRunning -= 1;
        if (deps.tracing && (attemptsRunning === 0 || deps.tracing.due())) return deps.tracing.flush();
      })
      .then((report) => deps.onAttempt?.(report))
      .catch((error) => deps.log(`job ${job.id}: ${(error as Error).stack ?? error}`))
      .finally(() => {
        answers.give(held.get(job.id)!.weight);
        held.delete(job.id);
        if (!stopping) void fill();
        checkIdle();
      });
    deps.keepAlive?.(run);
  };

  const verifyOnce = () =>
    (startup ??= deps.verifyAtStart === false
      ? Promise.resolve(undefined)
      : verifyModels({ pipeline, ai: deps.ai, timeoutMs: config.verifyTimeoutMs, log: deps.log }).catch((error) => {
          deps.log(`model verification failed: ${(error as Error).message}`);
          return undefined;
        }));

  const requested = createRequestedVerification({ pipeline, ai: deps.ai, timeoutMs: config.verifyTimeoutMs, log: deps.log });
  let lastRequested: Promise<VerificationReport | undefined> = Promise.resolve(undefined);
  const verifyRequested = () => {
    if (deps.verifyAtStart === false) return;
    // Not awaited: a slow models.get must not hold up the claim that follows.
    lastRequested = requested.run().catch((error) => {
      deps.log(`requested model verification failed: ${(error as Error).message}`);
      return undefined;
    });
    deps.keepAlive?.(lastRequested);
  };

  return {
    workerId: deps.workerId,
    get inFlight() {
      return held.size;
    },
    async invoke() {
      await verifyOnce();
      verifyRequested();
      wallClockEnds = Math.max(wallClockEnds, clock.now() + config.wallClockBudgetMs);
      const claimed = await fill();
      return { worker_id: deps.workerId, claimed, in_flight: held.size };
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    async shutdown() {
      stopping = true;
      const jobs = [...held.values()];
      for (const h of jobs) h.stop.abort();
      if (jobs.length === 0) return { released: 0 };
      try {
        const reply = await pipeline.releaseJobs(jobs.map((h) => h.job), 0, 'worker shutting down');
        deps.log(`shutdown: released ${reply.released} of ${jobs.length} held jobs`);
        return { released: reply.released };
      } catch (error) {
        deps.log(`shutdown: release failed, the reaper will requeue: ${(error as Error).message}`);
        return { released: 0 };
      }
    },
    verification: () => startup ?? Promise.resolve(undefined),
    requestedVerification: () => lastRequested,
  };
}
