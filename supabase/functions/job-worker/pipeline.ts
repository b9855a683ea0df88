import type { SupabaseClient } from '@supabase/supabase-js';

/**
 * The job pipeline's SQL functions as the worker calls them: supabase-js `.rpc()` with the
 * service-role key, which is exactly what works unchanged against hosted Supabase. The worker
 * never writes a job's status itself; every transition is one of these calls, fenced by the
 * lease token claim_jobs handed out.
 */
export interface ClaimedJob {
  id: string;
  user_id: string;
  model_id: string;
  prompt: string;
  options: { aspect_ratio?: string; number_of_images?: number } | null;
  attempt: number;
  max_attempts: number;
  lease_token: string;
  lease_expires_at: string;
  deadline_at: string;
}

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
}

export interface ModelHealthReply {
  call_id: number;
  circuit_state: 'closed' | 'open' | 'half_open';
  consecutive_failures: number;
  retry_after_until: string | null;
}

export interface BudgetReply {
  granted: boolean;
  wait_seconds?: number;
}

export interface ModelRow {
  id: string;
  enabled: boolean;
  paused: boolean;
  price_usd_per_call: number | string;
  verification_state: string;
  updated_at: string;
}

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
  claimJobs(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]>;
  heartbeatJob(job: ClaimedJob, progress: number | null, stage: string | null, leaseSeconds: number): Promise<HeartbeatReply>;
  completeJob(job: ClaimedJob, result: Record<string, unknown>): Promise<TransitionReply>;
  failJob(job: ClaimedJob, errorClass: string, message: string, retryable: boolean, retryAfterSeconds?: number): Promise<TransitionReply>;
  releaseJobs(jobs: ClaimedJob[], delaySeconds: number, reason: string): Promise<{ released: number; fenced: number }>;
  recordProviderCall(call: ProviderCallRecord): Promise<ModelHealthReply>;
  acquireModelBudget(modelId: string): Promise<BudgetReply>;
  disableModel(modelId: string, reason: string): Promise<{ failed_jobs: number; refunded_credits: number }>;
  setModelVerification(modelId: string, state: 'verified' | 'failed' | 'unverified', detail?: string): Promise<void>;
  listModels(): Promise<ModelRow[]>;
}

export function createPipeline(supabase: SupabaseClient): Pipeline {
  const rpc = async <T>(fn: string, args: Record<string, unknown>): Promise<T> => {
    const { data, error } = await supabase.rpc(fn, args);
    if (error) throw new PipelineError(fn, error.code, error.message);
    return data as T;
  };
  return {
    claimJobs: async (workerId, limit, leaseSeconds) =>
      (await rpc<ClaimedJob[] | null>('claim_jobs', { p_worker_id: workerId, p_limit: limit, p_lease_seconds: leaseSeconds })) ?? [],
    heartbeatJob: (job, progress, stage, leaseSeconds) =>
      rpc('heartbeat_job', {
        p_job_id: job.id,
        p_lease_token: job.lease_token,
        p_progress: progress,
        p_stage: stage,
        p_lease_seconds: leaseSeconds,
      }),
    completeJob: (job, result) => rpc('complete_job', { p_job_id: job.id, p_lease_token: job.lease_token, p_result: result }),
    failJob: (job, errorClass, message, retryable, retryAfterSeconds) =>
      rpc('fail_job', {
        p_job_id: job.id,
        p_lease_token: job.lease_token,
        p_error_class: errorClass,
        p_message: message,
        p_retryable: retryable,
        p_retry_after_seconds: retryAfterSeconds ?? null,
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
        p_http_status: call.httpStatus ?? null,
        p_job_id: call.jobId ?? null,
        p_attempt: call.attempt ?? null,
        p_retry_after_seconds: call.retryAfterSeconds ?? null,
        p_input_tokens: call.inputTokens ?? null,
        p_output_tokens: call.outputTokens ?? null,
        p_worker_id: call.workerId ?? null,
        p_cost_usd: call.costUsd ?? null,
      }),
    acquireModelBudget: (modelId) => rpc('acquire_model_budget', { p_model_id: modelId, p_n: 1 }),
    disableModel: (modelId, reason) => rpc('disable_model', { p_model_id: modelId, p_reason: reason }),
    setModelVerification: async (modelId, state, detail) => {
      await rpc('set_model_verification', { p_model_id: modelId, p_state: state, p_detail: detail ?? null });
    },
    listModels: async () => {
      const { data, error } = await supabase.from('models').select('id, enabled, paused, price_usd_per_call, verification_state, updated_at');
      if (error) throw new PipelineError('models', error.code, error.message);
      return (data ?? []) as ModelRow[];
    },
  };
}
