import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claim, createJob, FLASH, openTestDb, PRO, query, rejects, type TestDb } from '../../testkit/database/fixtures.ts';

let t: TestDb;

interface Health {
  rolled_up_to: string | null;
  window: { bucket_seconds: number };
  current: { queued: number; running: number; oldest_queued_seconds: number | null; active_workers: number };
  totals: Record<string, number>;
  series: Record<string, unknown[]>;
  models: {
    model_id: string;
    circuit_state: string;
    calls: number;
    ok: number;
    server_error: number;
    p50_ms: number | null;
    p95_ms: number | null;
    p99_ms: number | null;
    latency: { calls: number[]; p50_ms: (number | null)[] };
  }[];
}

async function health(window = '1 hour', bucket = '1 minute', actor: 'admin' | 'support' = 'admin'): Promise<Health> {
  const [row] = await query<{ h: Health }>(t.db, actor, 'select public.job_health($1::interval, $2::interval) as h', [window, bucket]);
  return row!.h;
}

/**
 * Activity ten minutes ago, made through the real functions and then moved back in time (the
 * rollup only takes whole minutes that ended 30 s ago): 4 jobs created, 3 claimed, 1 succeeded,
 * 1 failed for good (refunded), 1 failed and requeued, 1 cancelled (refunded); 10 successful
 * calls of 100..1000 ms on the flash model and 2 server errors of 30 s on the pro model.
 */
before(async () => {
  t = await openTestDb();
  const jobs = [await createJob(t.db), await createJob(t.db), await createJob(t.db), await createJob(t.db)];
  const claimed = await claim(t.db, 3, 'worker-a');
  const byId = new Map(claimed.map((j) => [j.id, j]));
  const [a, b, c] = jobs.slice(0, 3).map((j) => byId.get(j.id)!);
  await query(t.db, 'service', 'select public.complete_job($1, $2)', [a!.id, a!.lease_token]);
  await query(t.db, 'service', `select public.fail_job($1, $2, 'not_found', 'x', false)`, [b!.id, b!.lease_token]);
  await query(t.db, 'service', `select public.fail_job($1, $2, 'server_error', 'x', true, 1200)`, [c!.id, c!.lease_token]);
  await query(t.db, 'alice', `select * from public.cancel_jobs($1::uuid[], 'nope')`, [[jobs[3]!.id]]);
  for (let i = 1; i <= 10; i++) {
    await query(t.db, 'service', `select public.record_provider_call($1, now(), $2, 'ok', 200)`, [FLASH, i * 100]);
  }
  for (let i = 0; i < 2; i++) {
    await query(t.db, 'service', `select public.record_provider_call($1, now(), 30000, 'server_error', 503)`, [PRO]);
  }
  const client = await t.db.connect();
  try {
    // History is moved, not rewritten: the append-only triggers are bypassed for this only.
    await client.query('set session_replication_role = replica');
    await client.query(`update public.job_events set at = at - interval '10 minutes'`);
    await client.query(`update public.provider_calls set recorded_at = recorded_at - interval '10 minutes'`);
    await client.query(`update public.credit_ledger set created_at = created_at - interval '10 minutes' where reason <> 'grant'`);
    await client.query(`update public.jobs set created_at = created_at - interval '10 minutes'`);
  } finally {
    await client.query('set session_replication_role = origin');
    client.release();
  }
});
after(async () => {
  await t.close();
});

const EXPECTED_TOTALS = {
  created: 4,
  claimed: 3,
  succeeded: 1,
  failed: 1,
  requeued: 1,
  retried: 0,
  cancelled: 1,
  refunds: 2,
  refunded_credits: 2,
  failure_rate: 0.5,
};

describe('job_health', () => {
  test('before any rollup, everything comes from the raw tail', async () => {
    const h = await health();
    assert.equal(h.rolled_up_to, null);
    assert.deepEqual(h.totals, EXPECTED_TOTALS);
    assert.deepEqual(h.current, { queued: 1, running: 0, oldest_queued_seconds: h.current.oldest_queued_seconds, active_workers: 0 });
    assert.ok(h.current.oldest_queued_seconds! >= 590, 'the requeued job has waited about 10 minutes');
  });

  test('after the rollup, the same numbers come from the rollups', async () => {
    const [r] = await query<{ r: { minutes: number } }>(t.db, 'service', 'select public.rollup_metrics() as r');
    assert.ok(r!.r.minutes >= 9);
    const h = await health();
    assert.notEqual(h.rolled_up_to, null);
    assert.deepEqual(h.totals, EXPECTED_TOTALS);
    // A second rollup run changes nothing (idempotent, watermark-based).
    await query(t.db, 'service', 'select public.rollup_metrics()');
    assert.deepEqual((await health()).totals, EXPECTED_TOTALS);
  });

  test('series are columnar and aligned, one entry per bucket, with queue depth over time', async () => {
    const h = await health('1 hour', '1 minute');
    const n = h.series.bucket!.length;
    assert.ok(n >= 60 && n <= 62, `about 61 one-minute buckets, got ${n}`);
    for (const [key, values] of Object.entries(h.series)) assert.equal(values.length, n, key);
    const sum = (key: string) => (h.series[key] as number[]).reduce((a, b) => a + b, 0);
    assert.equal(sum('created'), 4);
    assert.equal(sum('succeeded'), 1);
    const busy = (h.series.created as number[]).findIndex((v) => v > 0);
    assert.equal((h.series.queued as number[])[busy], 1, 'one job left queued at the end of that minute');
    assert.equal((h.series.running as number[])[busy], 0);
    assert.equal(h.series.failure_rate![busy], 0.5);
  });

  test('provider latency per model: exact per minute, merged histograms over the window', async () => {
    const h = await health('1 hour', '1 minute');
    const flash = h.models.find((m) => m.model_id === FLASH)!;
    assert.equal(flash.calls, 10);
    assert.equal(flash.ok, 10);
    const busy = flash.latency.calls.findIndex((v) => v > 0);
    assert.equal(flash.latency.calls[busy], 10);
    assert.equal(flash.latency.p50_ms[busy], 550, 'exact percentile of 100..1000 ms');
    // Window totals come from the log-scale histogram: within its 25% bin width.
    assert.ok(Math.abs(flash.p50_ms! - 550) / 550 < 0.25, `p50 ~550 ms, got ${flash.p50_ms}`);
    assert.ok(Math.abs(flash.p99_ms! - 1000) / 1000 < 0.25, `p99 ~1000 ms, got ${flash.p99_ms}`);
    const pro = h.models.find((m) => m.model_id === PRO)!;
    assert.equal(pro.server_error, 2);
    assert.ok(Math.abs(pro.p95_ms! - 30000) / 30000 < 0.25);
    assert.equal(pro.circuit_state, 'closed');
  });

  test('coarser buckets merge histograms and sum counts', async () => {
    const h = await health('1 hour', '15 minutes');
    assert.equal(h.window.bucket_seconds, 900);
    assert.ok(h.series.bucket!.length >= 4 && h.series.bucket!.length <= 5);
    assert.equal((h.series.created as number[]).reduce((a, b) => a + b, 0), 4);
    const flash = h.models.find((m) => m.model_id === FLASH)!;
    const busy = flash.latency.calls.findIndex((v) => v > 0);
    assert.ok(Math.abs(flash.latency.p50_ms[busy]! - 550) / 550 < 0.25);
  });

  test('support may read it too', async () => {
    assert.deepEqual((await health('1 hour', '5 minutes', 'support')).totals, EXPECTED_TOTALS);
  });

  test('refuses anon and end users', async () => {
    await rejects(query(t.db, 'alice', `select public.job_health('1 hour', '1 minute')`), '42501', 'permission denied: job_health requires the support or admin or service_role role (you are user)');
    await rejects(query(t.db, 'anon', `select public.job_health('1 hour', '1 minute')`), '42501', 'permission denied for function job_health');
  });

  test('refuses a bad window or bucket with 22023', async () => {
    await rejects(query(t.db, 'admin', `select public.job_health('30 seconds', '1 minute')`), '22023', 'window must be between 1 minute and 400 days');
    await rejects(query(t.db, 'admin', `select public.job_health('401 days', '1 day')`), '22023', 'window must be between 1 minute and 400 days');
    // Minute rollups are pruned after weeks: a long window is drawn from the hour rows only.
    await rejects(query(t.db, 'admin', `select public.job_health('8 days', '90 minutes')`), '22023', 'windows over 7 days need buckets of whole hours');
    await rejects(query(t.db, 'admin', `select public.job_health('1 hour', '90 seconds')`), '22023', 'bucket must be a whole number of minutes');
    await rejects(query(t.db, 'admin', `select public.job_health('7 days', '1 minute')`), '22023', /^too many buckets/);
  });
});
