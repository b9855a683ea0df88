import type { SupabaseClient } from '@supabase/supabase-js';
// Type-only: the generated schema types (`npm run db:types`), erased when the function runs.
import type { Database, Json } from '../_shared/database.types.ts';

type Functions = Database['public']['Functions'];
type FunctionName = keyof Functions;
/** The worker's client, typed by the schema: function names and arguments are checked. */
export type WorkerClient = SupabaseClient<Database>;

/**
 * The job pipeline's SQL functions as the worker calls them: supabase-js `.rpc()` with the
 * service-role key, which is exactly what works unchanged against hosted Supabase. The worker
 * never writes a job's status itself; every transition is one of these calls, fenced by the
 * lease token claim_jobs handed out.
 */
type ClaimedRow = Functions['claim_jobs']['Returns'][number];
/**
 * A job as claim_jobs hands it out: the generated row's columns the worker reads, with what the
 * schema cannot say made precise (a claimed job always holds a lease; the options it reads).
 */
export type ClaimedJob = Pick<ClaimedRow, 'id' | 'user_id' | 'model_id' | 'prompt' | 'attempt' | 'max_attempts' | 'deadline_at' | 'run_at' | 'created_at' | 'traceparent'> & {
  options: { aspect_ratio?: string; number_of_images?: number } | null;
  lease_token: string;
  lease_expires_at: string;
};

export interface HeartbeatReply {
  fenced: boolean;
  lease_expires_at?: string;
  status?: string | null;
}

export interface TransitionReply {
  outcome: 'succeeded' | 'retry_scheduled' | 'failed' | 'fenced';
  status: string | null;
  attempt?: number;
  run_at?: string | null;
  refunded_credits?: number;
}

export interface ProviderCallRecord {
  modelId: string;
  startedAt: Date;
  durationMs: number;
  outcome: string;
  httpStatus?: number;
  jobId?: string;
  attempt?: number;
  retryAfterSeconds?: number;
  inputTokens?: number;
  outputTokens?: number;
  workerId?: string;
  costUsd?: number;
  /**
   * The job's lease: the record is then also the job's heartbeat (lease extended, progress and
   * stage recorded, fenced like heartbeat_job) in the same round trip.
   */
  lease?: { token: string; seconds: number; progress?: number; stage?: string };
}

export interface ModelHealthReply {
  call_id: number;
  circuit_state: 'closed' | 'open' | 'half_open';
  consecutive_failures: number;
  retry_after_until: string | null;
  /** Present when the record carried the lease: true when the job is no longer the caller's. */
  fenced?: boolean;
}

export interface BudgetReply {
  granted: boolean;
  wait_seconds?: number;
}

export type ModelRow = Pick<Database['public']['Tables']['models']['Row'], 'id' | 'enabled' | 'paused' | 'price_usd_per_call' | 'verification_state' | 'updated_at'>;

export class PipelineError extends Error {
  constructor(
    readonly fn: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(`${fn}: ${message}`);
  }
}

export interface Pipeline {
  /** Claims ready jobs, each with one token of its model's rate budget for its first call. */
  claimJobs(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]>;
  heartbeatJob(job: ClaimedJob, progress: number | null, stage: string | null, leaseSeconds: number): Promise<HeartbeatReply>;
  completeJob(job: ClaimedJob, result: Json): Promise<TransitionReply>;
  failJob(job: ClaimedJob, errorClass: string, message: string, retryable: boolean, retryAfterSeconds?: number): Promise<TransitionReply>;
  releaseJobs(jobs: ClaimedJob[], delaySeconds: number, reason: string): Promise<{ released: number; fenced: number }>;
  recordProviderCall(call: ProviderCallRecord): Promise<ModelHealthReply>;
  acquireModelBudget(modelId: string): Promise<BudgetReply>;
  disableModel(modelId: string, reason: string): Promise<{ failed_jobs: number; refunded_credits: number }>;
  setModelVerification(modelId: string, state: 'verified' | 'failed' | 'unverified', detail?: string): Promise<void>;
  listModels(): Promise<ModelRow[]>;
}

export function createPipeline(supabase: WorkerClient): Pipeline {
  /**
   * One SQL function. Most of the worker's functions return jsonb, whose shape the schema cannot
   * state: `T` is that shape, as the function's SQL builds it (the replies above).
   */
  const rpc = async <T, Fn extends FunctionName = FunctionName>(fn: Fn, args: Functions[Fn]['Args']): Promise<T> => {
    const { data, error } = await supabase.rpc(fn, args);
    if (error) throw new PipelineError(fn, error.code, error.message);
    return data as T;
  };
  const completions = createCompletionBatcher((batch) =>
    rpc<CompletionRow[]>('complete_jobs', {
      p_job_ids: batch.map((c) => c.job.id),
      p_lease_tokens: batch.map((c) => c.job.lease_token),
      p_results: batch.map((c) => c.result),
    }),
  );
  return {
    claimJobs: async (workerId, limit, leaseSeconds) =>
      (await rpc<ClaimedJob[] | null>('claim_jobs', {
        p_worker_id: workerId,
        p_limit: limit,
        p_lease_seconds: leaseSeconds,
        p_with_budget: true,
      })) ?? [],
    heartbeatJob: (job, progress, stage, leaseSeconds) =>
      rpc('heartbeat_job', {
        p_job_id: job.id,
        p_lease_token: job.lease_token,
        p_progress: progress ?? undefined,
        p_stage: stage ?? undefined,
        p_lease_seconds: leaseSeconds,
      }),
    completeJob: completions.complete,
    failJob: (job, errorClass, message, retryable, retryAfterSeconds) =>
      rpc('fail_job', {
        p_job_id: job.id,
        p_lease_token: job.lease_token,
        p_error_class: errorClass,
        p_message: message,
        p_retryable: retryable,
        p_retry_after_seconds: retryAfterSeconds,
      }),
    releaseJobs: (jobs, delaySeconds, reason) =>
      rpc('release_jobs', {
        p_job_ids: jobs.map((j) => j.id),
        p_lease_tokens: jobs.map((j) => j.lease_token),
        p_delay_seconds: delaySeconds,
        p_reason: reason,
      }),
    recordProviderCall: (call) =>
      rpc('record_provider_call', {
        p_model_id: call.modelId,
        p_started_at: call.startedAt.toISOString(),
        p_duration_ms: call.durationMs,
        p_outcome: call.outcome,
        p_http_status: call.httpStatus,
        p_job_id: call.jobId,
        p_attempt: call.attempt,
        p_retry_after_seconds: call.retryAfterSeconds,
        p_input_tokens: call.inputTokens,
        p_output_tokens: call.outputTokens,
        p_worker_id: call.workerId,
        p_cost_usd: call.costUsd,
        p_lease_token: call.lease?.token,
        p_progress: call.lease?.progress,
        p_stage: call.lease?.stage,
        p_lease_seconds: call.lease?.seconds,
      }),
    acquireModelBudget: (modelId) => rpc('acquire_model_budget', { p_model_id: modelId, p_n: 1 }),
    disableModel: (modelId, reason) => rpc('disable_model', { p_model_id: modelId, p_reason: reason }),
    setModelVerification: async (modelId, state, detail) => {
      await rpc('set_model_verification', { p_model_id: modelId, p_state: state, p_detail: detail });
    },
    listModels: async () => {
      const { data, error } = await supabase.from('models').select('id, enabled, paused, price_usd_per_call, verification_state, updated_at');
      if (error) throw new PipelineError('models', error.code, error.message);
      return data ?? [];
    },
  };
}

type CompletionRow = Functions['complete_jobs']['Returns'][number];

interface PendingCompletion {
  job: ClaimedJob;
  result: Json;
  resolve: (reply: TransitionReply) => void;
  reject: (error: unknown) => void;
}

/** complete_jobs takes at most this many jobs per call. */
const COMPLETE_JOBS_LIMIT = 500;

/**
 * Completions that land in the same tick go to the database in one complete_jobs call, as
 * graphile-worker batches its completions (completeJobBatchDelay 0): jobs that end together pay
 * one round trip, one statement and one commit between them, and a lone job waits for nothing
 * but the end of its tick (a zero timer). Each job is still fenced by its own lease token, and
 * each caller gets its own job's reply; a failed call fails every completion it carried, as
 * each one's own call would have. A process holds a job once (job-worker.ts), so a batch never
 * names a job twice (complete_jobs refuses that).
 */
function createCompletionBatcher(send: (batch: PendingCompletion[]) => Promise<CompletionRow[]>) {
  let pending: PendingCompletion[] = [];
  const flush = () => {
    const all = pending;
    pending = [];
    for (let from = 0; from < all.length; from += COMPLETE_JOBS_LIMIT) {
      const batch = all.slice(from, from + COMPLETE_JOBS_LIMIT);
      send(batch).then(
        (rows) => {
          const byId = new Map(rows.map((r) => [r.job_id, r]));
          for (const c of batch) {
            const row = byId.get(c.job.id);
            if (row) c.resolve({ outcome: row.outcome as TransitionReply['outcome'], status: row.status });
            else c.reject(new PipelineError('complete_jobs', undefined, `no reply for job ${c.job.id}`));
          }
        },
        (error) => {
          for (const c of batch) c.reject(error);
        },
      );
    }
  };
  return {
    complete: (job: ClaimedJob, result: Json) =>
      new Promise<TransitionReply>((resolve, reject) => {
        pending.push({ job, result, resolve, reject });
        if (pending.length === 1) setTimeout(flush, 0);
      }),
  };
}
