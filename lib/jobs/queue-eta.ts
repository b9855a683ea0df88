import type { Job } from './job-schema';
import type { QueuePosition } from './queue-position-query';

/**
 * What the job page says about waiting, computed from job_queue_position's counts and the
 * model's live median latency:
 *   queued:  position = jobs ahead + 1; the jobs ahead are served `running` at a time (at least
 *            one), each taking about p50, then this one takes p50 itself; a retry waiting for
 *            its run_at cannot start before it.
 *   running: remaining = p50 − time since the claim, never negative; past it, "any moment now".
 * No ETA without a latency sample, for a paused model, or past the 1000-job cap (the guess
 * would be noise).
 */
export type QueueEta =
  | { kind: 'queued'; position: string; etaMs: number | null; paused: boolean }
  | { kind: 'running'; remainingMs: number | null; overdue: boolean }
  | { kind: 'none' };

export function computeQueueEta(job: Pick<Job, 'status' | 'run_at' | 'attempted_at'>, queue: QueuePosition | null | undefined, now: number): QueueEta {
  if (!queue) return { kind: 'none' };
  const p50 = queue.latency_p50_ms;
  if (job.status === 'queued' && queue.ahead !== null) {
    const position = queue.ahead_capped ? '1000+' : String(queue.ahead + 1);
    if (p50 === null || queue.model_paused || queue.ahead_capped) {
      return { kind: 'queued', position, etaMs: null, paused: queue.model_paused };
    }
    const rounds = Math.ceil(queue.ahead / Math.max(queue.running, 1));
    const start = Math.max(rounds * p50, Date.parse(job.run_at) - now, 0);
    return { kind: 'queued', position, etaMs: start + p50, paused: false };
  }
  if (job.status === 'running') {
    if (p50 === null || !job.attempted_at) return { kind: 'running', remainingMs: null, overdue: false };
    const remaining = p50 - (now - Date.parse(job.attempted_at));
    return { kind: 'running', remainingMs: Math.max(0, remaining), overdue: remaining <= 0 };
  }
  return { kind: 'none' };
}

/** "about 12 s", "about 3 min", "about 2 h": an estimate, so rounded the way people say it. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 90) return `about ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min`;
  return `about ${Math.round(minutes / 60)} h`;
}
