import type { DatabaseClient } from '../../lib/supabase/database.ts';
import pg from 'pg';
import { subscribe } from '../../testkit/realtime/channels.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { startTestStack } from '../../testkit/http/stack.ts';
import { percentile, round } from '../../testkit/percentiles.ts';
import { userToken } from '../../testkit/http/tokens.ts';
import { wallClockMs } from './wall-clock.ts';

/**
 * `npm run bench realtime`: commit-to-callback latency of the local Realtime server.
 *
 * (a) postgres_changes: 100 subscribers, each a different user, each subscribed to INSERTs on
 *     one table with no filter, so RLS (`owner = auth.uid()`) alone decides that each row goes
 *     to exactly one of them: every change is authorised against 100 claim sets. 200 changes/s.
 * (b) Broadcast from Database: 100 users each on their own private topic `bench:<uid>`, joined
 *     under RLS on realtime.messages; `realtime.send()` into a random one, 1,000 changes/s.
 * Then the highest sustained rate of (b), and of (a), before p99 passes 100 ms.
 *
 * Each change is its own transaction, committed with synchronous_commit on (the default on
 * Supabase). The row or message carries clock_timestamp() taken in the writing transaction just
 * before its commit; the subscriber's callback subtracts it from the wall clock (same host).
 * Clients are the official supabase-js, in this process alongside the gateway: 2 cores are
 * shared by Postgres, the server and 100 clients, which the numbers include.
 */
const SUBSCRIBERS = 100;
const RUN_SECONDS = 8;
const WARMUP_SECONDS = 1;
const STEP_SECONDS = 3;
/** Writes in flight at once; beyond it the writer is the bottleneck and says so (achieved rate). */
const MAX_IN_FLIGHT = 32;

interface Sample {
  latencies: number[];
  sent: number;
  seconds: number;
}

function summarise(sample: Sample, expectedPerChange: number) {
  const sorted = [...sample.latencies].sort((a, b) => a - b);
  return {
    achievedRate: round(sample.sent / sample.seconds),
    changes: sample.sent,
    delivered: sample.latencies.length,
    expectedDeliveries: sample.sent * expectedPerChange,
    p50Ms: round(percentile(sorted, 0.50), 1),
    p95Ms: round(percentile(sorted, 0.95), 1),
    p99Ms: round(percentile(sorted, 0.99), 1),
    maxMs: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/**
 * Every write is tagged with a run number and whether it falls in the measured window (after
 * warm-up); callbacks record a latency only for measured writes of the current run, so
 * deliveries can be counted exactly against writes.
 */
interface Window {
  run: number;
  latencies: number[];
}

/** Issues `write(i, run, measured)` at `rate` per second for warm-up plus `seconds`. */
async function drive(
  rate: number,
  seconds: number,
  write: (i: number, run: number, measured: boolean) => Promise<void>,
  window: Window,
  warmup = WARMUP_SECONDS,
) {
  let sent = 0;
  let measured = 0;
  let inFlight = 0;
  const started = Date.now();
  const pending = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = (Date.now() - started) / 1000;
      if (elapsed >= warmup + seconds) return resolve();
      const due = Math.floor(elapsed * rate);
      while (sent < due && inFlight < MAX_IN_FLIGHT) {
        const i = sent++;
        const inWindow = elapsed >= warmup;
        if (inWindow) measured++;
        inFlight++;
        const p = write(i, window.run, inWindow).finally(() => {
          inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
      setTimeout(tick, 2);
    };
    tick();
  });
  await Promise.all(pending);
  return { sent: measured, seconds };
}

async function waitFor(condition: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function userId(i: number) {
  return `00000000-0000-4000-8000-${(0xb000 + i).toString(16).padStart(12, '0')}`;
}

export default async function benchRealtime() {
  const stack = await startTestStack();
  const writer = new pg.Pool({ connectionString: stack.dbUrl, max: 8, options: '-c synchronous_commit=on' } as pg.PoolConfig);
  const clients: DatabaseClient[] = [];
  try {
    await writer.query(`
      create table public.bench_jobs (
        id bigint generated always as identity primary key,
        owner uuid not null,
        status text not null default 'queued',
        run int not null,
        measured boolean not null,
        committed_at double precision not null default extract(epoch from clock_timestamp()) * 1000
      );
      alter table public.bench_jobs enable row level security;
      create policy "own jobs" on public.bench_jobs for select to authenticated using (owner = auth.uid());
      alter publication supabase_realtime add table public.bench_jobs;
      create policy "own bench topic" on realtime.messages for select to authenticated
        using (realtime.topic() = 'bench:' || auth.uid()::text);
    `);

    const changes: Window = { run: 0, latencies: [] };
    const broadcasts: Window = { run: 0, latencies: [] };
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = createTestClient(stack, stack.publishableKey);
      clients.push(client);
      await client.realtime.setAuth(await userToken(stack, { sub: userId(i) }));
      const jobsChannel = client
        .channel(`jobs-${i}`)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'bench_jobs' }, (e) => {
          const row = e.new as { committed_at: number; run: number; measured: boolean };
          if (row.measured && row.run === changes.run) changes.latencies.push(wallClockMs() - row.committed_at);
        });
      const topicChannel = client
        .channel(`bench:${userId(i)}`, { config: { private: true } })
        .on('broadcast', { event: 'tick' }, (m) => {
          const tick = m.payload as { t: number; run: number; measured: boolean };
          if (tick.measured && tick.run === broadcasts.run) broadcasts.latencies.push(wallClockMs() - tick.t);
        });
      await Promise.all([subscribe(jobsChannel), subscribe(topicChannel)]);
    }

    const insertJob = (i: number, run: number, measured: boolean) =>
      writer
        .query(`insert into public.bench_jobs (owner, run, measured) values ($1, $2, $3)`, [userId(i % SUBSCRIBERS), run, measured])
        .then(() => {});
    const sendTick = (i: number, run: number, measured: boolean) =>
      writer
        .query(
          `select realtime.send(jsonb_build_object('t', extract(epoch from clock_timestamp()) * 1000, 'run', $2::int, 'measured', $3::boolean), 'tick', $1)`,
          [`bench:${userId((i * 7) % SUBSCRIBERS)}`, run, measured],
        )
        .then(() => {});

    const run = async (rate: number, seconds: number, write: typeof insertJob, window: Window) => {
      window.run++;
      window.latencies = [];
      const sample = await drive(rate, seconds, write, window);
      await waitFor(() => window.latencies.length >= sample.sent, 3_000);
      return summarise({ ...sample, latencies: [...window.latencies] }, 1);
    };

    const a = await run(200, RUN_SECONDS, insertJob, changes);
    const b = await run(1000, RUN_SECONDS, sendTick, broadcasts);

    const search = async (rates: number[], write: typeof insertJob, window: Window) => {
      const steps = [];
      let highest = 0;
      let limitedBy = 'none: the highest rate tried was sustained';
      for (const rate of rates) {
        const s = await run(rate, STEP_SECONDS, write, window);
        const slow = !(s.p99Ms <= 100);
        const lost = s.delivered < s.changes;
        const writerBound = s.achievedRate < rate * 0.95;
        steps.push({ targetRate: rate, ...s, sustained: !slow && !lost && !writerBound });
        if (slow || lost || writerBound) {
          limitedBy = slow ? 'p99 above 100 ms' : lost ? 'changes not delivered within 3 s' : `the writer (${MAX_IN_FLIGHT} commits in flight) could not reach the rate`;
          break;
        }
        highest = rate;
      }
      return { highestSustainedRate: highest, limitedBy, criterion: 'p99 <= 100 ms, every change delivered, writer reached 95% of the rate', steps };
    };
    const broadcastSearch = await search([1000, 2000, 4000, 6000, 8000], sendTick, broadcasts);
    const changesSearch = await search([200, 600, 1200, 2000, 3000], insertJob, changes);

    return {
      setup: `${SUBSCRIBERS} supabase-js clients in the gateway's process (2 cores shared with Postgres); one transaction per change, synchronous_commit on; ${RUN_SECONDS} s measured after ${WARMUP_SECONDS} s warm-up`,
      postgresChanges: {
        scenario: '100 subscribers, one table, no filter: RLS (owner = auth.uid()) makes each change visible to exactly one',
        targetRate: 200,
        ...a,
        targetP99Ms: 50,
        pass: a.p99Ms <= 50 && a.delivered >= a.changes,
      },
      broadcastFromDatabase: {
        scenario: '100 private per-user topics authorised by RLS on realtime.messages; realtime.send() into one per change',
        targetRate: 1000,
        ...b,
        targetP99Ms: 100,
        pass: b.p99Ms <= 100 && b.delivered >= b.changes,
      },
      sustainedRate: {
        broadcastFromDatabase: broadcastSearch,
        postgresChanges: changesSearch,
      },
    };
  } finally {
    for (const c of clients) await c.removeAllChannels().catch(() => {});
    await writer.end();
    await stack.stop();
  }
}
