import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../local/config.ts';
import { readWorkerConfig } from '../../functions/job-worker/config.ts';
import { startWorkerDispatch } from '../../local/worker-dispatch.ts';
import { DEMO_USERS } from '../../../testkit/demo-users.ts';
import { until } from '../../../testkit/wait.ts';
import { denoWorkerEnv, startWorkerFixture } from './worker-fixture.ts';

/**
 * The worker's memory with a burst of real-size images in flight: the deployed function in real
 * Deno (one process, as one hosted instance), invoked the way production invokes it (enqueue,
 * NOTIFY, the scheduler, POST /functions/v1/job-worker), with every Gemini call held by the
 * stand-in so that the whole burst is in flight at once and its answers land together. The peak
 * is the kernel's high-water mark for the process (VmHWM), over its whole life: cold start,
 * warm-up and the burst. Shared by `npm run bench worker` (the figures) and the worker memory
 * check in the test suite (the hosted limit as a pass/fail line).
 */
export interface WorkerBurstOptions {
  model: string;
  /** The stand-in's answer size for requests that name none; undefined: the model's default, 1K. */
  imageSize?: '1K' | '2K' | '4K';
  /** WORKER_CONCURRENCY; undefined: the worker's default (8). */
  slots?: number;
  /** Jobs enqueued for the burst. */
  jobs: number;
  /** How long the stand-in holds each call, so the burst is in flight together. */
  holdMs?: number;
  /** Also measure the peer: the SDK alone in Deno with as many of the same answers in flight. */
  sdkPeer?: boolean;
}

export interface WorkerBurst {
  model: string;
  image: string;
  png_bytes: number;
  slots: number;
  /** The worker's answer budget (WORKER_ANSWER_BUDGET_MB, its default): it admits fewer jobs than slots when their answers would not fit. */
  answer_budget_mb: number;
  jobs: number;
  peak_in_flight: number;
  succeeded: number;
  /** RSS after cold start and warm-up, before the burst. */
  baseline_rss_mb: number | null;
  peak_rss_mb: number;
  /** The peer, when asked: @google/genai alone with as many of the same answers in flight as the worker held at its peak. */
  sdk_alone?: { rss_before_mb: number; peak_rss_mb: number };
}

/**
 * The SDK-alone peer in a fresh Deno process, against the burst's stand-in (still holding each
 * call). Spawned without blocking: the stand-in answers from this very process.
 */
async function measureSdkAlone(standInUrl: string, model: string, count: number) {
  const functionDir = path.join(repoRoot, 'supabase', 'functions', 'job-worker');
  const child = spawn(
    path.join(repoRoot, 'node_modules', 'deno', 'deno'),
    // All permissions: Deno grants /proc/self only with all of them; the script reaches only the stand-in.
    ['run', '--frozen', '--config', path.join(functionDir, 'deno.json'), '--allow-all', fileURLToPath(new URL('./sdk-answers-memory.ts', import.meta.url)), standInUrl, model, String(count)],
    { env: { ...process.env, DENO_DIR: path.join(os.tmpdir(), 'jobhealth-deno-cache'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the SDK-alone peer failed: ${stderr}`);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { rss_before_mb: number; peak_rss_mb: number };
  return { rss_before_mb: round1(result.rss_before_mb), peak_rss_mb: round1(result.peak_rss_mb) };
}

/** From /proc: current RSS or the high-water mark, in MB. */
export function procMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const round1 = (mb: number) => Math.round(mb * 10) / 10;

const DEPLOYED_CONFIG = readWorkerConfig((name) => (name === 'GEMINI_API_KEY' ? 'unused' : undefined));
/** The worker's own default WORKER_CONCURRENCY, read from its config as deployed. */
export const DEFAULT_WORKER_SLOTS = DEPLOYED_CONFIG.concurrency;

/** The deployed worker in one Deno process with `slots` slots, invoked the way production invokes it. */
export async function startDenoWorker(slots: number, env: Record<string, string> = {}) {
  const f = await startWorkerFixture({ functions: { instances: 1, env: { ...denoWorkerEnv(slots), ...env } } });
  const dispatch = await startWorkerDispatch({ dbUrl: f.stack.dbUrl, apiUrl: f.stack.apiUrl, secretKey: f.stack.secretKey, sweepMs: 5_000 });
  return { f, dispatch };
}

export async function measureWorkerBurst(options: WorkerBurstOptions): Promise<WorkerBurst> {
  const holdMs = options.holdMs ?? 4000;
  const slots = options.slots ?? DEFAULT_WORKER_SLOTS;
  const { f, dispatch } = await startDenoWorker(slots);
  try {
    await f.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
       select id, 1000, 'grant', 'database', 'worker memory burst' from auth.users`,
    );
    // The model's shared rate budget would spread the burst out; this measures the worker.
    await f.db.query(`update public.models set rate_per_minute = 100000 where id = $1`, [options.model]);
    f.standIn.setImageSize(options.imageSize);
    const users = Object.keys(DEMO_USERS) as Array<keyof typeof DEMO_USERS>;
    const open = async (ids: string[]) =>
      (
        await f.db.query<{ running: number; open: number }>(
          `select count(*) filter (where status = 'running')::int as running,
                  count(*) filter (where status in ('queued', 'running'))::int as open
             from public.jobs where id = any($1)`,
          [ids],
        )
      ).rows[0]!;

    // Cold start (Deno boot, npm modules, model verification) and one image of the burst's size.
    const warmUp = [(await f.enqueue('alice', options.model)).id, (await f.enqueue('bob', options.model)).id];
    await until(async () => (await open(warmUp)).open === 0, { timeoutMs: 60_000, intervalMs: 20, label: 'the warm-up jobs' });
    const pid = f.functions!.pids('job-worker')[0]!;
    const baseline = procMemoryMb(pid, 'VmRSS');
    f.standIn.resetStats();

    f.standIn.setLatency({ p50: holdMs, p99: holdMs });
    const ids: string[] = [];
    // One prompt: the stand-in draws each of its pictures once per size (a 4K one takes seconds).
    for (let i = 0; i < options.jobs; i++) ids.push((await f.enqueue(users[i % users.length]!, options.model)).id);
    let peakInFlight = 0;
    let peakRss = 0;
    await until(
      async () => {
        const counts = await open(ids);
        peakInFlight = Math.max(peakInFlight, counts.running);
        peakRss = Math.max(peakRss, procMemoryMb(pid, 'VmRSS') ?? 0);
        return counts.open === 0;
      },
      // 4K answers at the default budget go a few at a time, each held holdMs by the stand-in.
      { timeoutMs: 300_000, intervalMs: 5, label: 'the burst to finish' },
    );
    if (!f.functions!.pids('job-worker').includes(pid)) throw new Error('the worker process was replaced during the burst: its peak is lost');
    const highWater = procMemoryMb(pid, 'VmHWM') ?? peakRss;
    const { rows } = await f.db.query<{ succeeded: number; width: number; height: number }>(
      `select count(*) filter (where status = 'succeeded')::int as succeeded,
              max((result ->> 'width')::int) as width, max((result ->> 'height')::int) as height
         from public.jobs where id = any($1)`,
      [ids],
    );
    const stats = f.standIn.stats();
    const served = stats.byOutcome.ok ?? 0;
    const sdkAlone = options.sdkPeer ? await measureSdkAlone(f.standIn.url, options.model, Math.max(1, peakInFlight)) : undefined;
    return {
      model: options.model,
      image: `${rows[0]!.width}x${rows[0]!.height} PNG`,
      png_bytes: served ? Math.round(stats.imageBytes / served) : 0,
      slots,
      answer_budget_mb: DEPLOYED_CONFIG.answerBudgetMb,
      jobs: ids.length,
      peak_in_flight: peakInFlight,
      succeeded: rows[0]!.succeeded,
      baseline_rss_mb: baseline === undefined ? null : round1(baseline),
      peak_rss_mb: round1(Math.max(highWater, peakRss)),
      ...(sdkAlone ? { sdk_alone: sdkAlone } : {}),
    };
  } finally {
    await dispatch.stop();
    await f.stop();
  }
}
