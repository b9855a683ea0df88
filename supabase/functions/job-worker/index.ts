// The job-worker edge function: wiring only. Invoked over HTTP (POST /functions/v1/job-worker
// with the secret key in `apikey`) by pg_net on enqueue and pg_cron on a sweep in production, and
// by the local scheduler here. The logic lives in job-worker.ts and run-attempt.ts.
import { GoogleGenAI } from '@google/genai';
import { createClient } from '@supabase/supabase-js';
import { systemClock } from './clock.ts';
import { readWorkerConfig } from './config.ts';
import { createJobWorker } from './job-worker.ts';
import { createModelRegistry } from './model-registry.ts';
import { eraseQueuedObjects } from './object-erasure.ts';
import type { Database } from '../_shared/database.types.ts';
import { createPipeline, type WorkerClient } from './pipeline.ts';
import { createResultStore } from './result-store.ts';
import { admitWorkerCall, databaseKey, readWorkerKeys } from './request-auth.ts';
import { createTracing, readTracingConfig } from './tracing.ts';

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

const env = (name: string) => Deno.env.get(name);
const config = readWorkerConfig(env);
const keys = readWorkerKeys(env);
// The secret key acts as service_role: the worker's SQL functions are granted to it alone.
const supabase: WorkerClient = createClient<Database>(env('SUPABASE_URL')!, databaseKey(env), {
  auth: { persistSession: false, autoRefreshToken: false },
});
const ai = new GoogleGenAI({
  apiKey: config.geminiApiKey,
  ...(config.geminiBaseUrl ? { httpOptions: { baseUrl: config.geminiBaseUrl } } : {}),
});
const pipeline = createPipeline(supabase);
const log = (line: string) => console.log(`[job-worker] ${line}`);
const keepAlive = typeof EdgeRuntime !== 'undefined' ? (work: Promise<unknown>) => EdgeRuntime!.waitUntil(work) : undefined;

const worker = createJobWorker({
  pipeline,
  ai,
  results: createResultStore(supabase, config.resultsBucket),
  registry: createModelRegistry(pipeline, systemClock),
  clock: systemClock,
  random: Math.random,
  config,
  workerId: `job-worker:${crypto.randomUUID()}`,
  log,
  keepAlive,
  tracing: createTracing(readTracingConfig(env), { now: systemClock.now, log }),
});

// The runtime is about to stop this instance: hand back what it holds, inside the grace period.
addEventListener('beforeunload', () => {
  const released = worker.shutdown();
  keepAlive?.(released);
});

Deno.serve(async (request) => {
  if (request.method !== 'POST') {
    return Response.json({ error: 'POST to invoke the worker' }, { status: 405, headers: { allow: 'POST' } });
  }
  const admission = admitWorkerCall(request.headers, keys);
  if (!admission.ok) return Response.json({ error: admission.error }, { status: admission.status });
  // Deleted users' images, beside the jobs: a failure is logged and retried on a later call.
  const erasure = eraseQueuedObjects(supabase, log).catch((error) => log(`object erasure failed: ${(error as Error).message}`));
  keepAlive?.(erasure);
  try {
    // 202: the jobs were claimed and run in the background; the caller (pg_net, the scheduler)
    // does not wait for Gemini.
    return Response.json(await worker.invoke(), { status: 202 });
  } catch (error) {
    log(`invocation failed: ${(error as Error).stack ?? error}`);
    return Response.json({ error: 'invocation failed' }, { status: 500 });
  }
});
