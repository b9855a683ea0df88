import type { ClaimedJob, Pipeline } from './pipeline.ts';

/**
 * Keeps a claimed job's lease alive while Gemini works, and is the worker's fence check: the
 * moment heartbeat_job answers `fenced` (the reaper took the job after a stall, an admin
 * requeued or cancelled it), `fenced` aborts, the Gemini call in flight is dropped and the attempt
 * writes nothing. Beats run at a third of the lease by default, so two lost beats still leave the
 * lease standing; an attempt shorter than that (most) makes no beat of its own, since the claim
 * starts the lease and recording each Gemini call extends it and checks the fence.
 */
export interface Heartbeat {
  /** Aborts when the job is no longer ours. */
  readonly fenced: AbortSignal;
  /** Extends the lease now and records progress; resolves false when fenced. */
  beat(progress: number | null, stage: string | null): Promise<boolean>;
  /** Another fenced write (record_provider_call with the lease) found the job gone: abort as a beat would. */
  lost(): void;
  stop(): void;
}

export function startHeartbeat(options: {
  pipeline: Pipeline;
  job: ClaimedJob;
  intervalMs: number;
  leaseSeconds: number;
  log: (line: string) => void;
}): Heartbeat {
  const fence = new AbortController();
  const beat = async (progress: number | null, stage: string | null) => {
    if (fence.signal.aborted) return false;
    try {
      const reply = await options.pipeline.heartbeatJob(options.job, progress, stage, options.leaseSeconds);
      if (reply.fenced) fence.abort();
    } catch (error) {
      // The lease still has two intervals left; the next beat tries again.
      options.log(`heartbeat of job ${options.job.id} failed: ${(error as Error).message}`);
    }
    return !fence.signal.aborted;
  };
  const timer = setInterval(() => void beat(null, null), options.intervalMs);
  return {
    fenced: fence.signal,
    beat,
    lost: () => fence.abort(),
    stop: () => clearInterval(timer),
  };
}
