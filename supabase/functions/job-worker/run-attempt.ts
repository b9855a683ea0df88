import type { GoogleGenAI } from '@google/genai';
import { backoffDelayMs } from './backoff.ts';
import type { Clock } from './clock.ts';
import type { WorkerConfig } from './config.ts';
import { callGeminiImage, type GeminiCallResult, type GeneratedImage } from './gemini-call.ts';
import { startHeartbeat, type Heartbeat } from './heartbeat.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { ClaimedJob, ModelHealthReply, Pipeline, TransitionReply } from './pipeline.ts';
import type { ResultStore } from './result-store.ts';
import { noTracing, type AttemptTrace, type ClaimTiming, type Tracing } from './tracing.ts';

/**
 * One attempt at one claimed job: Gemini call(s) with in-attempt retries, every call recorded,
 * image stored, then exactly one of complete / fail_job / release_jobs. A job that succeeds
 * at the first call costs three database calls: the claim (which also took the call's rate
 * budget), the call's record (also the heartbeat and the fence check before the upload) and
 * its completion (complete_jobs, shared with the jobs that end in the same tick). Nothing
 * here changes a job's state directly, and every write is fenced by the lease token, so a worker
 * that lost its lease (stalled, killed and reaped, cancelled by an admin) changes nothing.
 */
export interface AttemptDeps {
  pipeline: Pipeline;
  ai: GoogleGenAI;
  results: ResultStore;
  registry: ModelRegistry;
  clock: Clock;
  random: () => number;
  config: WorkerConfig;
  workerId: string;
  log: (line: string) => void;
  /** Told the size of each image answer as it arrives (the worker's answer budget learns from it). */
  observeAnswer?: (bytes: number) => void;
  /** The job's trace (tracing.ts); off when not given. */
  tracing?: Tracing;
}

export type AttemptOutcome = 'succeeded' | 'retry_scheduled' | 'failed' | 'fenced' | 'released' | 'stopped';

export interface AttemptReport {
  jobId: string;
  outcome: AttemptOutcome;
  errorClass?: string;
  calls: number;
}

export interface AttemptOptions {
  /** Aborted when the process shuts down: the attempt stops and writes nothing (the shutdown releases it). */
  stop: AbortSignal;
  /** Epoch ms the attempt must end by (the invocation's wall clock). */
  notAfter?: number;
  /** When the claim that handed out the job ran, for its trace. */
  claim?: ClaimTiming;
}

/** Time kept back before the job's deadline for storing and completing after the last call. */
const FINISH_MARGIN_MS = 2_000;

type Step =
  | { kind: 'image'; image: GeneratedImage }
  | { kind: 'fail'; errorClass: string; message: string; retryable: boolean; retryAfterMs?: number }
  | { kind: 'defer'; delaySeconds: number }
  | { kind: 'stopped' };

/** The images a job asks for: its number_of_images, 1 to 4. */
export const imagesRequested = (job: ClaimedJob) => Math.min(4, Math.max(1, Math.trunc(Number(job.options?.number_of_images ?? 1)) || 1));

export async function runAttempt(deps: AttemptDeps, job: ClaimedJob, options: AttemptOptions): Promise<AttemptReport> {
  const { clock, config, pipeline } = deps;
  const started = clock.now();
  const jobDeadline = Date.parse(job.deadline_at);
  const deadline = Math.min(started + config.attemptBudgetMs, jobDeadline - FINISH_MARGIN_MS, options.notAfter ?? Infinity);
  let calls = 0;
  const trace = (deps.tracing ?? noTracing).attempt(job, options.claim, deps.workerId);
  const report = (outcome: AttemptOutcome, errorClass?: string): AttemptReport => {
    trace.end(outcome, errorClass);
    return { jobId: job.id, outcome, errorClass, calls };
  };

  if (jobDeadline - started <= FINISH_MARGIN_MS) {
    const reply = await trace.step('job.fail', () => pipeline.failJob(job, 'deadline_exceeded', 'too little time left before the job deadline to call the model', false), failed);
    return report(reply.outcome, 'deadline_exceeded');
  }

  const heartbeat = startHeartbeat({ pipeline, job, intervalMs: config.heartbeatMs, leaseSeconds: config.leaseSeconds, log: deps.log });
  const stop = AbortSignal.any([options.stop, heartbeat.fenced]);
  const stopped = () => report(heartbeat.fenced.aborted ? 'fenced' : 'stopped');
  try {
    const count = imagesRequested(job);
    const images: GeneratedImage[] = [];
    // claim_jobs took one token of the model's budget for the attempt's first call.
    const budget = { claimed: true };
    for (let index = 0; index < count; index++) {
      const last = index === count - 1;
      const step = await generateWithRetries(deps, job, heartbeat, deadline, stop, budget, last, () => (calls += 1), trace);
      if (step.kind === 'stopped') return stopped();
      if (step.kind === 'defer') {
        const reply = await trace.step('job.release', () => pipeline.releaseJobs([job], step.delaySeconds, 'no rate budget for the model within the attempt'));
        return report(reply.released > 0 ? 'released' : 'fenced');
      }
      if (step.kind === 'fail') {
        if (stop.aborted) return stopped();
        const retryAfterSeconds = step.retryAfterMs === undefined ? undefined : step.retryAfterMs / 1000;
        const reply = await trace.step('job.fail', () => pipeline.failJob(job, step.errorClass, step.message, step.retryable, retryAfterSeconds), failed);
        return report(reply.outcome, step.errorClass);
      }
      images.push(step.image);
    }
    // The last call's record was the fence check right before the upload (and moved the job to
    // 'storing'): a worker that lost the job must not overwrite the object the job's new owner
    // may already have stored.
    if (stop.aborted) return stopped();
    const stored = await trace.step('job.upload', () => deps.results.storeImages(job, images), () => ({
      'jobhealth.images': images.length,
      'jobhealth.bytes': images.reduce((n, image) => n + image.data.byteLength, 0),
    }));
    if (options.stop.aborted) return stopped();
    const reply = await trace.step('job.complete', () => pipeline.completeJob(job, stored), (r) => ({ 'job.outcome': r.outcome }));
    return report(reply.outcome === 'succeeded' ? 'succeeded' : 'fenced');
  } catch (error) {
    // The database, Storage or the network between failed us, not the job: end the attempt
    // retryable now rather than leave the job to wait out its lease for the reaper.
    if (options.stop.aborted) return stopped();
    const message = (error as Error).message ?? String(error);
    deps.log(`job ${job.id} attempt ${job.attempt} failed in the worker: ${message}`);
    try {
      const reply = await trace.step('job.fail', () => pipeline.failJob(job, 'worker_error', message, true), failed);
      return report(reply.outcome, 'worker_error');
    } catch {
      return report('fenced', 'worker_error'); // the reaper will requeue it when the lease runs out
    }
  } finally {
    heartbeat.stop();
  }
}

async function generateWithRetries(
  deps: AttemptDeps,
  job: ClaimedJob,
  heartbeat: Heartbeat,
  deadline: number,
  stop: AbortSignal,
  budget: { claimed: boolean },
  last: boolean,
  counted: () => void,
  trace: AttemptTrace,
): Promise<Step> {
  const { clock, config, pipeline } = deps;
  const aspectRatio = typeof job.options?.aspect_ratio === 'string' ? job.options.aspect_ratio : undefined;
  for (let callNumber = 1; ; callNumber++) {
    // The shared per-model budget (and any Retry-After a 429 set for every worker).
    while (!budget.claimed) {
      if (stop.aborted) return { kind: 'stopped' };
      const reply = await pipeline.acquireModelBudget(job.model_id);
      if (reply.granted) break;
      const waitMs = Math.ceil((reply.wait_seconds ?? 1) * 1000);
      if (clock.now() + waitMs + config.callTimeoutMs > deadline) {
        return { kind: 'defer', delaySeconds: Math.min(3600, waitMs / 1000) };
      }
      const waiting = trace.span('job.rate_budget_wait', { 'jobhealth.wait_ms': waitMs });
      await clock.sleep(waitMs, stop);
      waiting.end();
    }
    budget.claimed = false;
    if (stop.aborted) return { kind: 'stopped' };

    const timeoutMs = Math.max(1, Math.min(config.callTimeoutMs, deadline - clock.now()));
    const call = await callGeminiImage(deps.ai, { model: job.model_id, prompt: job.prompt, aspectRatio, timeoutMs, signal: stop }, clock);
    counted();
    trace.call(job.model_id, call, job.prompt);
    // A call the worker itself abandoned (fence lost, shutdown) says nothing about the provider:
    // recording it as a timeout would push the model's circuit toward open for our own reasons.
    if (call.disposition === 'aborted') return { kind: 'stopped' };
    // The image the job waits for is about to be stored: the record says so to the owner.
    const storing = last && call.disposition === 'success';
    const health = await record(deps, job, call, storing ? { progress: 90, stage: 'storing' } : {});
    if (health?.fenced) {
      heartbeat.lost();
      return { kind: 'stopped' };
    }

    switch (call.disposition) {
      case 'success':
        deps.observeAnswer?.(call.image!.data.length);
        return { kind: 'image', image: call.image! };
      case 'permanent':
        return { kind: 'fail', errorClass: call.errorClass, message: call.message, retryable: false };
      case 'model_missing': {
        const reason = `the provider does not know model ${job.model_id} (404 on generateContent)`;
        try {
          await pipeline.disableModel(job.model_id, reason);
          await pipeline.setModelVerification(job.model_id, 'failed', reason);
        } catch (error) {
          deps.log(`disabling model ${job.model_id} failed: ${(error as Error).message}`);
        }
        return { kind: 'fail', errorClass: call.errorClass, message: call.message, retryable: false };
      }
      case 'retry_later':
        return { kind: 'fail', errorClass: call.errorClass, message: call.message, retryable: true };
      case 'retry': {
        const giveUp = (why: string): Step => ({
          kind: 'fail',
          errorClass: call.errorClass,
          message: `${call.message} (${why})`,
          retryable: true,
          retryAfterMs: call.retryAfterMs,
        });
        // The circuit just opened: every further call would wait its timeout for nothing.
        if (health?.circuit_state === 'open') return giveUp('circuit open');
        if (callNumber >= config.maxCallsPerAttempt) return giveUp(`${callNumber} calls in this attempt`);
        const delay = backoffDelayMs(callNumber, { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs }, deps.random, call.retryAfterMs);
        if (clock.now() + delay + config.callTimeoutMs > deadline) return giveUp('no time left in this attempt for another call');
        const waiting = trace.span(call.retryAfterMs === undefined ? 'job.backoff' : 'job.retry_after_wait', {
          'jobhealth.wait_ms': delay,
          'jobhealth.retry_after_ms': call.retryAfterMs,
          'jobhealth.after_call': callNumber,
        });
        await clock.sleep(delay, stop);
        waiting.end();
        break;
      }
    }
  }
}

/**
 * Every call becomes a provider_calls row and moves the model's circuit; the same round trip
 * extends the job's lease and checks the fence.
 */
async function record(
  deps: AttemptDeps,
  job: ClaimedJob,
  call: GeminiCallResult,
  progress: { progress?: number; stage?: string },
): Promise<ModelHealthReply | undefined> {
  try {
    const price = call.outcome === 'ok' ? await deps.registry.priceUsd(job.model_id) : 0;
    return await deps.pipeline.recordProviderCall({
      modelId: job.model_id,
      startedAt: call.startedAt,
      durationMs: call.durationMs,
      outcome: call.outcome,
      httpStatus: call.httpStatus,
      jobId: job.id,
      attempt: job.attempt,
      retryAfterSeconds: call.retryAfterMs === undefined ? undefined : call.retryAfterMs / 1000,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      workerId: deps.workerId,
      costUsd: price,
      lease: { token: job.lease_token, seconds: deps.config.leaseSeconds, ...progress },
    });
  } catch (error) {
    // Losing one metrics row must not lose an image already paid for.
    deps.log(`recording a call of job ${job.id} failed: ${(error as Error).message}`);
    return undefined;
  }
}

/** fail_job's span: its outcome (retry_scheduled, or failed with the credits refunded) as attributes. */
const failed = (reply: TransitionReply) => ({
  'job.outcome': reply.outcome,
  'jobhealth.refunded_credits': reply.refunded_credits,
  'job.run_at': reply.run_at ?? undefined,
});
