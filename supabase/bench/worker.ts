import { performance } from 'node:perf_hooks';
import { createJobWorker } from '../functions/job-worker/job-worker.ts';
import type { Pipeline } from '../functions/job-worker/pipeline.ts';
import type { ResultStore } from '../functions/job-worker/result-store.ts';
import { FLASH, PRO, startWorkerFixture, type WorkerFixture } from '../tests/job-worker/worker-fixture.ts';
import { DEFAULT_WORKER_SLOTS, measureWorkerBurst, startDenoWorker } from '../tests/job-worker/worker-memory.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { CpuMeter, processCpuMs, type CpuSample } from './cpu.ts';
import { workerSchedulerOptions } from '../local/worker-dispatch.ts';
import { startScheduler } from '../local/scheduler.ts';
import { until } from '../../testkit/wait.ts';
import { percentile, round } from '../../testkit/percentiles.ts';
import { OtlpReceiver } from '../../testkit/http/otlp-receiver.ts';

/**
 * `npm run bench worker`: what the worker waits for, what it costs the machine, how fast a new
 * job starts, and how much memory a worker process needs.
 *
 * 1. RPC round trips per job (`rpc_round_trips_ms`): RPC_JOBS jobs through the worker's logic
 *    in this Node process (real supabase-js through the gateway's REST and Storage, real
 *    @google/genai against the stand-in) one at a time, the stand-in answering after 50 ms.
 *    Every pipeline call's wall time is charged to its job: claim + budget + heartbeats +
 *    record + complete. That is latency (gateway, Postgres, the loopback network), time the
 *    worker spends waiting, not CPU it spends. The Storage upload is reported beside it: it
 *    scales with the image.
 * 2. The worker's own CPU per job (`worker_cpu`): CPU_JOBS jobs through the full local path
 *    (the enqueue trigger's NOTIFY, the scheduler, POST /functions/v1/job-worker, the worker in
 *    real Deno with 50 slots) with the stand-in answering at once. The Deno process's user +
 *    system CPU (from /proc/<pid>/stat) over the run, divided by the jobs; beside it the
 *    Postgres cluster's and this Node process's (the gateway, the stand-in serving each PNG, the
 *    scheduler: the local platform's share, which hosted Supabase and Gemini would carry).
 * 3. Enqueue to running (`enqueue_to_running_ms`): LATENCY_JOBS jobs enqueued one at a time into
 *    the same full local path. Measured in the database, claim's attempted_at minus the job's
 *    created_at, so no client clock or poll interval is in the number. The scheduler's sweep is
 *    5 s, the polling interval this replaces: a job that waited for it would show.
 *    Beside the time of the first part, the count (`rpc_round_trips_per_job`): database calls
 *    charged to each job (its share of the claim that took it, budget, heartbeats, record,
 *    complete), median; and every database call of the run over the jobs, claims that found
 *    nothing included. The live messages of the same run (`realtime_messages_per_job`,
 *    `realtime_bytes_per_job`): rows written to realtime.messages over the jobs, by topic, and
 *    the table's growth on disk (heap and indexes) over the jobs. One slot claims one job at a
 *    time, so each job carries a whole queue signal and whole admin:jobs messages: the most a
 *    job sends. Beside it (`at_default_slots`) the same rounds with the worker at its deployed
 *    slots, where a claim and a completion take several jobs and admin:jobs carries them in one
 *    message.
 * 4. Peak RSS (`worker_memory`, `worker_memory_4k`) of the Deno worker process with a burst of
 *    real-size images (worker-memory.ts, which the worker memory check in the test suite
 *    shares): 50 jobs enqueued at once for a worker with 50 slots and 1K images, then 16 for
 *    the default slots with 4K images from the pro model, every Gemini call held 4 s by the
 *    stand-in. The worker's answer budget decides how many it holds at once
 *    (`peak_in_flight`); the rest wait in the queue. Beside each, the peer: the @google/genai
 *    SDK alone in Deno with as many of the same answers in flight as the worker held, the floor
 *    under any worker that uses it.
 * 6. Tracing's cost (`tracing_overhead_cpu_ratio`): the worker CPU per job of part 2 with trace
 *    export on (OTEL_EXPORTER_OTLP_ENDPOINT naming an OTLP receiver in this process) over the same
 *    with it off: two Deno workers on two stacks, started together, measured in turns
 *    (off, on, off, on) so the machine's load falls on both alike; the ratio of the sums. An
 *    unmeasured round on each first, so the JIT's warm-up is in neither. WORKER_BENCH_PARTS=tracing
 *    runs this part alone.
 *    Each job exports its whole trace (the root the database named, the queue wait, the attempt,
 *    the claim, the call, the upload, the completion): the most spans a successful job sends.
 * 5. Idle cost (`idle_invocations_per_hour`): the local scheduler, which asks the database the
 *    same question as the hosted pg_cron sweep (private.job_worker_has_work()), sweeps an empty
 *    queue IDLE_SWEEPS times, 25 ms apart instead of 10 s: one simulated hour of the hosted
 *    sweep. The figure is the worker invocations it made (the notification path is not in it:
 *    nothing is enqueued).
 */
const RPC_JOBS = 200;
const CPU_JOBS = 300;
const LATENCY_JOBS = 100;
const INFLIGHT_JOBS = 50;
/** A hosted edge function is stopped above this. */
const EDGE_LIMIT_MB = 256;
/** An hour of the hosted sweep, which runs every 10 s. */
const IDLE_SWEEPS = 360;

async function grantCredits(f: WorkerFixture, amount: number) {
  await f.db.query(
    `insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
     select id, $1, 'grant', 'database', 'benchmark' from auth.users`,
    [amount],
  );
}

type Phase = 'claim' | 'budget' | 'heartbeat' | 'record' | 'complete' | 'storage';

async function measureRpcRoundTrips() {
  const f = await startWorkerFixture({ env: { GEMINI_CALL_TIMEOUT_MS: '10000', WORKER_ATTEMPT_BUDGET_MS: '20000', WORKER_LEASE_SECONDS: '30', WORKER_HEARTBEAT_MS: '10000' } });
  try {
    await grantCredits(f, 1000);
    const users = ['alice', 'bob', 'support', 'admin'] as const;
    const costs = new Map<string, Record<Phase, number>>();
    const calls = new Map<string, number>();
    let dbCalls = 0;
    const charge = (jobId: string, phase: Phase, ms: number, share = 1) => {
      const entry = costs.get(jobId) ?? { claim: 0, budget: 0, heartbeat: 0, record: 0, complete: 0, storage: 0 };
      entry[phase] += ms;
      costs.set(jobId, entry);
      if (phase !== 'storage') calls.set(jobId, (calls.get(jobId) ?? 0) + share);
    };
    const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
      const started = performance.now();
      const value = await work();
      return [value, performance.now() - started];
    };
    const p = f.pipeline;
    const pipeline: Pipeline = {
      ...p,
      claimJobs: async (...args) => {
        const [jobs, ms] = await timed(() => p.claimJobs(...args));
        dbCalls += 1;
        for (const job of jobs) charge(job.id, 'claim', ms / jobs.length, 1 / jobs.length);
        return jobs;
      },
      heartbeatJob: async (job, ...rest) => {
        const [reply, ms] = await timed(() => p.heartbeatJob(job, ...rest));
        dbCalls += 1;
        charge(job.id, 'heartbeat', ms);
        return reply;
      },
      recordProviderCall: async (call) => {
        const [reply, ms] = await timed(() => p.recordProviderCall(call));
        dbCalls += 1;
        charge(call.jobId!, 'record', ms);
        return reply;
      },
      completeJob: async (job, result) => {
        const [reply, ms] = await timed(() => p.completeJob(job, result));
        dbCalls += 1;
        charge(job.id, 'complete', ms);
        return reply;
      },
    };
    // The images' upload charged as Storage.
    const timeStorage = async <T>(jobId: string, work: () => Promise<T>): Promise<T> => {
      const [value, ms] = await timed(work);
      charge(jobId, 'storage', ms);
      return value;
    };
    const results: ResultStore = {
      storeImages: (job, images) => timeStorage(job.id, () => f.deps.results.storeImages(job, images)),
    };
    // The budget call names only the model, not the job: charged as the mean per call.
    let budgetMs = 0;
    let budgetCalls = 0;
    pipeline.acquireModelBudget = async (modelId) => {
      const [reply, ms] = await timed(() => p.acquireModelBudget(modelId));
      dbCalls += 1;
      budgetMs += ms;
      budgetCalls += 1;
      return reply;
    };

    f.standIn.setLatency({ p50: 50, p99: 50 });
    const worker = createJobWorker({ ...f.deps, pipeline, results, verifyAtStart: false, config: { ...f.config, concurrency: 1 } });
    // Warm-up: the first calls open connections and plan statements.
    for (let i = 0; i < 20; i++) await f.enqueue(users[i % users.length]!);
    await worker.invoke();
    await worker.idle();
    costs.clear();
    calls.clear();
    dbCalls = 0;
    budgetMs = 0;
    budgetCalls = 0;
    const messagesBefore = await realtimeMessages(f);

    let enqueued = 0;
    const ids: string[] = [];
    const open = async () =>
      (await f.db.query<{ n: number }>(`select count(*)::int as n from public.jobs where id = any($1) and status in ('queued', 'running')`, [ids])).rows[0]!.n;
    const started = performance.now();
    while (enqueued < RPC_JOBS) {
      // 20 queued jobs per user is create_job's limit; enqueue in rounds the worker drains.
      for (let i = 0; i < 40 && enqueued < RPC_JOBS; i++, enqueued++) ids.push((await f.enqueue(users[enqueued % users.length]!)).id);
      // Until the round is done (a claim cut short by a slow machine leaves jobs for the next
      // invocation), so every job's messages are counted with the job.
      do {
        await worker.invoke();
        await worker.idle();
      } while ((await open()) > 0);
    }
    const seconds = (performance.now() - started) / 1000;
    const messagesAfter = await realtimeMessages(f);
    const atDefaultSlots = await measureMessagesAtSlots(f, users, DEFAULT_WORKER_SLOTS);
    const perJobBudget = budgetCalls ? budgetMs / budgetCalls : 0;
    const budgetCallsPerJob = budgetCalls / costs.size;
    const callCounts = [...calls.values()].map((n) => n + budgetCallsPerJob);
    const perJob = (n: number) => Math.round((n / ids.length) * 100) / 100;
    const roundTrips = [...costs.values()].map((c) => c.claim + perJobBudget + c.heartbeat + c.record + c.complete);
    const storage = [...costs.values()].map((c) => c.storage);
    const phase = (name: Phase) => round(percentile([...costs.values()].map((c) => c[name]), 0.5));
    return {
      jobs: costs.size,
      slots: 1,
      per_job_p50: round(percentile(roundTrips, 0.5)),
      per_job_p99: round(percentile(roundTrips, 0.99)),
      per_job_p50_by_call: {
        claim: phase('claim'),
        budget: Math.round(perJobBudget * 100) / 100,
        heartbeat: phase('heartbeat'),
        record: phase('record'),
        complete: phase('complete'),
      },
      storage_upload_p50: round(percentile(storage, 0.5)),
      storage_upload_p99: round(percentile(storage, 0.99)),
      jobs_per_second: Math.round((costs.size / seconds) * 10) / 10,
      calls: {
        per_job_median: Math.round(percentile(callCounts, 0.5) * 100) / 100,
        all_calls_per_job: perJob(dbCalls),
        budget_calls_per_job: Math.round(budgetCallsPerJob * 100) / 100,
      },
      realtime: {
        messages_per_job: perJob(messagesAfter.messages - messagesBefore.messages),
        by_topic_per_job: {
          admin: perJob(messagesAfter.admin - messagesBefore.admin),
          user: perJob(messagesAfter.user - messagesBefore.user),
          queue: perJob(messagesAfter.queue - messagesBefore.queue),
        },
        bytes_per_job: Math.round((messagesAfter.bytes - messagesBefore.bytes) / ids.length),
        payload_bytes_per_job: Math.round((messagesAfter.payloadBytes - messagesBefore.payloadBytes) / ids.length),
        at_default_slots: atDefaultSlots,
      },
    };
  } finally {
    await f.stop();
  }
}

/**
 * The live messages per job when the worker runs at `slots` (its deployed default): the same
 * rounds of 40 jobs created one at a time through create_job, drained by the worker's logic with
 * its own pipeline, so claims and completions take several jobs per statement as they do deployed.
 */
async function measureMessagesAtSlots(f: WorkerFixture, users: readonly (keyof typeof DEMO_USERS)[], slots: number) {
  const worker = createJobWorker({ ...f.deps, verifyAtStart: false, config: { ...f.config, concurrency: slots } });
  const ids: string[] = [];
  const before = await realtimeMessages(f);
  while (ids.length < RPC_JOBS) {
    for (let i = 0; i < 40 && ids.length < RPC_JOBS; i++) ids.push((await f.enqueue(users[ids.length % users.length]!)).id);
    do {
      await worker.invoke();
      await worker.idle();
    } while ((await f.db.query<{ n: number }>(`select count(*)::int as n from public.jobs where id = any($1) and status in ('queued', 'running')`, [ids])).rows[0]!.n > 0);
  }
  const after = await realtimeMessages(f);
  const perJob = (n: number) => Math.round((n / ids.length) * 100) / 100;
  return {
    slots,
    jobs: ids.length,
    messages_per_job: perJob(after.messages - before.messages),
    by_topic_per_job: { admin: perJob(after.admin - before.admin), user: perJob(after.user - before.user), queue: perJob(after.queue - before.queue) },
    bytes_per_job: Math.round((after.bytes - before.bytes) / ids.length),
  };
}

/** realtime.messages: rows by topic, the table's size on disk (heap, TOAST, indexes; every partition), payload bytes. */
async function realtimeMessages(f: WorkerFixture) {
  const { rows } = await f.db.query<{ messages: number; admin: number; user: number; queue: number; bytes: string; payload_bytes: string }>(
    `select count(*)::int as messages,
            count(*) filter (where topic = 'admin:jobs')::int as admin,
            count(*) filter (where topic like 'user:%')::int as user,
            count(*) filter (where topic like 'queue:%')::int as queue,
            (select sum(pg_total_relation_size(relid)) from pg_partition_tree('realtime.messages'::regclass))::text as bytes,
            coalesce(sum(pg_column_size(payload)), 0)::text as payload_bytes
       from realtime.messages`,
  );
  const r = rows[0]!;
  return { messages: r.messages, admin: r.admin, user: r.user, queue: r.queue, bytes: Number(r.bytes), payloadBytes: Number(r.payload_bytes) };
}

/**
 * IDLE_SWEEPS sweeps of an empty queue by the local scheduler, configured as the stack runs it
 * (the same work check as the hosted sweep), 25 ms apart. Returns the invocations they made.
 */
async function measureIdleInvocations(f: WorkerFixture) {
  const { rows } = await f.db.query<{ open: number }>(`select count(*)::int as open from public.jobs where status in ('queued', 'running')`);
  if (rows[0]!.open !== 0) throw new Error(`the idle measurement needs an empty queue; ${rows[0]!.open} jobs are open`);
  const options = workerSchedulerOptions({ dbUrl: f.stack.dbUrl, apiUrl: f.stack.apiUrl, secretKey: f.stack.secretKey });
  let invocations = 0;
  // The catch-up invocation when the scheduler starts listening is the first, and not a sweep's.
  let catchUp = true;
  const scheduler = await startScheduler({
    ...options,
    tasks: [],
    sweepMs: 25,
    invoke: async () => {
      if (catchUp) catchUp = false;
      else invocations += 1;
      await options.invoke();
    },
  });
  try {
    let sweeps = 0;
    let found = 0;
    await new Promise<void>((resolve) => {
      scheduler.on('swept', (hasWork: boolean) => {
        sweeps += 1;
        if (hasWork) found += 1;
        if (sweeps === IDLE_SWEEPS) resolve();
      });
    });
    return { sweeps, sweeps_that_found_work: found, invocations };
  } finally {
    await scheduler.stop();
  }
}

async function measureDenoWorker() {
  const { f, dispatch } = await startDenoWorker(INFLIGHT_JOBS);
  try {
    await grantCredits(f, 1000);
    const finished = (id: string) => async () =>
      (await f.db.query(`select 1 from public.jobs where id = $1 and status in ('succeeded', 'failed')`, [id])).rowCount === 1;
    // Cold start (Deno boot, npm modules, model verification) is not what this measures.
    for (let i = 0; i < 3; i++) {
      const { id } = await f.enqueue('alice');
      await until(finished(id), { timeoutMs: 30_000, intervalMs: 2 });
    }

    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const { id } = await f.enqueue(i % 2 ? 'alice' : 'bob');
      await until(finished(id), { timeoutMs: 10_000, intervalMs: 2 });
      const { rows } = await f.db.query<{ ms: number }>(
        `select extract(epoch from attempted_at - created_at) * 1000 as ms from public.jobs where id = $1`,
        [id],
      );
      latencies.push(Number(rows[0]!.ms));
    }

    const pid = f.functions!.pids('job-worker')[0]!;
    const cpu = await measureWorkerCpu(f, pid);
    await dispatch.stop();
    const idle = await measureIdleInvocations(f);
    return {
      idle,
      latency: {
        samples: latencies.length,
        p50: round(percentile(latencies, 0.5)),
        p99: round(percentile(latencies, 0.99)),
        max: round(percentile(latencies, 1)),
      },
      cpu,
    };
  } finally {
    await dispatch.stop().catch(() => {});
    await f.stop();
  }
}

/**
 * CPU_JOBS jobs committed at once (one INSERT, so the dispatch is one NOTIFY), run by the Deno
 * worker's 50 slots with the stand-in answering at once; the run ends when none is open.
 */
async function measureWorkerCpu(f: WorkerFixture, pid: number) {
  f.standIn.setLatency(undefined);
  // The model's shared rate budget (500 calls a minute in the seed) would have the worker wait
  // for the limiter part of the way through; this measures the worker, not the limit.
  await f.db.query(`update public.models set rate_per_minute = 100000 where id = $1`, [FLASH]);
  const meter = await CpuMeter.forCluster(f.stack.dbUrl);
  const client = await f.db.connect();
  let ids: string[];
  let workerBefore: number | null;
  let before: CpuSample | null;
  let started: number;
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, $2, 'a lighthouse at dusk, ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $3::integer) g
       returning id`,
      [DEMO_USERS.alice.id, FLASH, CPU_JOBS],
    );
    ids = rows.map((r) => r.id);
    workerBefore = processCpuMs(pid);
    before = meter.sample();
    started = performance.now();
    await client.query('commit');
  } finally {
    client.release();
  }
  // Polled every 50 ms with an index-only question: its cost in Postgres is a few µs per job.
  await until(
    async () => !(await f.db.query<{ open: boolean }>(`select exists (select 1 from public.jobs where status in ('queued', 'running')) as open`)).rows[0]!.open,
    { timeoutMs: 600_000, intervalMs: 50, label: 'every job to finish' },
  );
  const seconds = (performance.now() - started) / 1000;
  const workerAfter = processCpuMs(pid);
  const platform = CpuMeter.between(before, meter.sample(), ids.length);
  const { rows } = await f.db.query<{ succeeded: number }>(
    `select count(*) filter (where status = 'succeeded')::int as succeeded from public.jobs where id = any($1)`,
    [ids],
  );
  // The same Deno process throughout, or its CPU time would be another process's.
  const sameProcess = f.functions!.pids('job-worker').includes(pid);
  return {
    jobs: ids.length,
    succeeded: rows[0]!.succeeded,
    slots: INFLIGHT_JOBS,
    seconds: round(seconds, 2),
    jobs_per_second: Math.round(ids.length / seconds),
    worker_process_us_per_job:
      sameProcess && workerBefore !== null && workerAfter !== null ? Math.round(((workerAfter - workerBefore) * 1000) / ids.length) : null,
    postgres_us_per_job: platform.postgres_us_per_job,
    local_platform_node_us_per_job: platform.node_us_per_job,
    others_cpu_percent: platform.others_cpu_percent,
    steal_percent: platform.steal_percent,
  };
}

/** Six turns each: one stack against the other with export off on both differs by up to 10% over three. */
const TRACING_ROUNDS = 6;

export async function measureTracingOverhead() {
  const receiver = await new OtlpReceiver().start();
  const [off, on] = await Promise.all([
    startDenoWorker(INFLIGHT_JOBS),
    startDenoWorker(INFLIGHT_JOBS, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'job-worker' }),
  ]);
  try {
    for (const { f } of [off, on]) {
      await grantCredits(f, 1000);
      // Cold start (Deno boot, npm modules, model verification) is not what this measures.
      const { id } = await f.enqueue('alice');
      await until(async () => (await f.db.query(`select 1 from public.jobs where id = $1 and status = 'succeeded'`, [id])).rowCount === 1, {
        timeoutMs: 60_000,
        label: 'the warm-up job',
      });
    }
    // Nor is the JIT's first pass over the busy path (50 slots, claims refilling them): one
    // unmeasured round each, or the first measured round runs about a third dearer and its
    // noise swamps the few per cent this measures.
    for (const { f } of [off, on]) await measureWorkerCpu(f, f.functions!.pids('job-worker')[0]!);
    const us = { off: [] as number[], on: [] as number[] };
    for (let turn = 0; turn < TRACING_ROUNDS; turn++) {
      for (const [name, w] of [['off', off], ['on', on]] as const) {
        const cpu = await measureWorkerCpu(w.f, w.f.functions!.pids('job-worker')[0]!);
        if (cpu.worker_process_us_per_job === null || cpu.succeeded !== cpu.jobs) throw new Error(`tracing ${name}: ${JSON.stringify(cpu)}`);
        us[name].push(cpu.worker_process_us_per_job);
      }
    }
    const spans = receiver.spans().length;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      ratio: round(sum(us.on) / sum(us.off), 3),
      off_us_per_job: us.off,
      on_us_per_job: us.on,
      // Every job the receiving worker ran: the warm-up job, the warm-up round, the measured rounds.
      spans_received_per_job: round(spans / ((TRACING_ROUNDS + 1) * CPU_JOBS + 1), 1),
      export_requests: receiver.http.received.length,
    };
  } finally {
    for (const { f, dispatch } of [off, on]) {
      await dispatch.stop().catch(() => {});
      await f.stop();
    }
    await receiver.stop();
  }
}

/**
 * WORKER_BENCH_PARTS runs some parts alone, its output then carrying their figures only:
 * "tracing" part 6 (about a minute instead of the whole benchmark), for work on the exporter;
 * "rpc" part 1 with the live messages and round trips counted over it (about half a minute), for
 * work on the claim, the completion and their messages. Unset: every part.
 */
const PARTS = process.env.WORKER_BENCH_PARTS?.split(',').map((p) => p.trim()).filter(Boolean);

function tracingResult(tracing: Awaited<ReturnType<typeof measureTracingOverhead>>) {
  return {
    tracing_overhead_cpu_ratio: tracing.ratio,
    tracing_overhead_detail: {
      ...tracing,
      target: 1.05,
      pass: tracing.ratio <= 1.05,
      measures: `worker CPU per job (Deno process, ${CPU_JOBS} jobs a round, ${INFLIGHT_JOBS} slots, ${TRACING_ROUNDS} rounds each, taken in turns) with trace export on to a local OTLP/HTTP receiver over the same with it off`,
    },
  };
}

function rpcResult(rpc: Awaited<ReturnType<typeof measureRpcRoundTrips>>) {
  const { calls, realtime, ...rpcTimes } = rpc;
  return {
    rpc_round_trips_per_job: calls.per_job_median,
    rpc_round_trips_per_job_detail: {
      ...calls,
      target: 3,
      pass: calls.per_job_median <= 3,
      measures: 'database calls per job through the worker\'s logic, one slot, the job\'s share of its claim included, median; beside it every call of the run (claims that found nothing included) over the jobs',
    },
    realtime_messages_per_job: realtime.messages_per_job,
    realtime_bytes_per_job: realtime.bytes_per_job,
    realtime_detail: {
      ...realtime,
      jobs: rpc.jobs,
      target_messages: 6,
      target_bytes: 2000,
      measures: 'rows written to realtime.messages per job (create_job through REST, the worker, one slot: the most a job sends), and the table\'s growth on disk (heap and indexes) per job; at_default_slots: the same with the worker at its deployed slots, claims and completions taking several jobs per statement',
    },
    rpc_round_trips_ms: {
      ...rpcTimes,
      measures: 'wall time of the worker RPCs per job (claim share + budget + heartbeats + record + complete) through the gateway to Postgres: latency the worker waits out, not its CPU; Gemini excluded',
    },
  };
}

export default async function workerBenchmark() {
  if (PARTS) {
    const unknown = PARTS.filter((p) => p !== 'tracing' && p !== 'rpc');
    if (unknown.length > 0 || PARTS.length === 0) throw new Error(`WORKER_BENCH_PARTS: only "tracing" and "rpc" run alone (got ${PARTS.join(',')})`);
    return {
      parts: PARTS,
      ...(PARTS.includes('rpc') ? rpcResult(await measureRpcRoundTrips()) : {}),
      ...(PARTS.includes('tracing') ? tracingResult(await measureTracingOverhead()) : {}),
    };
  }
  const rpc = await measureRpcRoundTrips();
  const tracing = await measureTracingOverhead();
  const { latency, cpu, idle } = await measureDenoWorker();
  const memory = await measureWorkerBurst({ model: FLASH, slots: INFLIGHT_JOBS, jobs: INFLIGHT_JOBS, sdkPeer: true });
  const memory4k = await measureWorkerBurst({ model: PRO, imageSize: '4K', jobs: 2 * DEFAULT_WORKER_SLOTS, sdkPeer: true });
  return {
    ...rpcResult(rpc),
    idle_invocations_per_hour: idle.invocations,
    idle_detail: {
      ...idle,
      hosted_sweep_seconds: 10,
      before_the_work_check: IDLE_SWEEPS,
      measures: 'worker invocations by the sweep over an empty queue during one simulated hour of the hosted 10 s sweep (360 sweeps of the local scheduler, 25 ms apart)',
    },
    worker_cpu: {
      ...cpu,
      measures: 'user + system CPU per job of the Deno worker process; beside it the Postgres cluster and the Node process that hosts the gateway, the Gemini stand-in and the scheduler',
    },
    ...tracingResult(tracing),
    enqueue_to_running_ms: { ...latency, target_p99: 250, replaces_polling_interval_ms: 5000, pass: latency.p99 <= 250 },
    worker_memory: {
      ...memory,
      enqueued_at_once: INFLIGHT_JOBS,
      target_peak_rss_mb: 150,
      edge_limit_mb: EDGE_LIMIT_MB,
      pass: memory.peak_rss_mb <= 150 && memory.succeeded === memory.jobs,
    },
    worker_memory_4k: {
      ...memory4k,
      target_peak_rss_mb: 200,
      edge_limit_mb: EDGE_LIMIT_MB,
      pass: memory4k.peak_rss_mb <= 200 && memory4k.succeeded === memory4k.jobs,
    },
    stand_in_note: `${FLASH} via the local Gemini stand-in, which answers with the real models' pixel sizes: 1024x1024 PNGs (${memory.png_bytes} bytes) unless a figure says otherwise; the 4K figure uses ${PRO} with 4096x4096 PNGs (${memory4k.png_bytes} bytes)`,
  };
}
