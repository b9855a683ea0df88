import { startScheduler, type Scheduler, type SchedulerOptions } from './scheduler.ts';

/**
 * How the local platform runs the job worker, doing what pg_net and pg_cron do on a hosted
 * project (see migrations/*_schedules_and_wakeup.sql):
 *   - NOTIFY `job_dispatch` (sent by the jobs triggers when a job becomes runnable) invokes
 *     POST /functions/v1/job-worker with the secret key in `apikey` at once, as pg_net does;
 *   - a sweep every few seconds invokes it when a job is runnable (delayed retries whose run_at
 *     has come, jobs a paused model or an exhausted budget held back), asking the same
 *     private.job_worker_has_work() the hosted pg_cron sweep asks; an idle queue costs nothing;
 *   - the reaper and the metrics rollup run on pg_cron's schedule, and so does the retention
 *     pass (migrations/*_retention.sql), every 10 minutes.
 */
export const WORKER_DISPATCH_CHANNEL = 'job_dispatch';

export interface WorkerDispatchOptions {
  dbUrl: string;
  /** The gateway's URL (the stack's apiUrl). */
  apiUrl: string;
  /** The project's secret key (sb_secret_...): the only credential the worker admits. */
  secretKey: string;
  /** Default 5 s: a delayed retry waits at most this long past its run_at. */
  sweepMs?: number;
  /** Default 60 s, as pg_cron's every-minute schedule. */
  reapEveryMs?: number;
  rollupEveryMs?: number;
  /** Default 10 minutes, as the hosted schedule. */
  pruneEveryMs?: number;
  log?: (line: string) => void;
}

/** Calls the worker once; resolves when it has answered (it answers before running the jobs). */
export function workerInvoker(apiUrl: string, secretKey: string): () => Promise<void> {
  const url = `${apiUrl.replace(/\/$/, '')}/functions/v1/job-worker`;
  return async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { apikey: secretKey, 'content-type': 'application/json' },
      body: '{}',
      // The worker answers as soon as it has claimed; a slow answer means something is wrong.
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`job-worker answered ${response.status}: ${text.slice(0, 200)}`);
  };
}

export function workerSchedulerOptions(options: WorkerDispatchOptions): SchedulerOptions {
  return {
    dbUrl: options.dbUrl,
    channel: WORKER_DISPATCH_CHANNEL,
    sweepMs: options.sweepMs ?? 5_000,
    sweepWhen: 'select private.job_worker_has_work() as has_work',
    invoke: workerInvoker(options.apiUrl, options.secretKey),
    tasks: [
      { name: 'reap_expired_jobs', sql: 'select public.reap_expired_jobs()', everyMs: options.reapEveryMs ?? 60_000 },
      { name: 'rollup_metrics', sql: 'select public.rollup_metrics()', everyMs: options.rollupEveryMs ?? 60_000 },
      { name: 'prune_expired_data', sql: 'select public.prune_expired_data()', everyMs: options.pruneEveryMs ?? 600_000 },
    ],
    log: options.log,
  };
}

/** Starts the dispatch for a running stack; stop() ends it. */
export function startWorkerDispatch(options: WorkerDispatchOptions): Promise<Scheduler> {
  return startScheduler(workerSchedulerOptions(options));
}
