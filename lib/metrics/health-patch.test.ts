import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdminJobChange } from '../admin-jobs/admin-job-change.ts';
import { appendActivity, applyJobChangesToHealth, transitionCounts } from './health-patch.ts';
import { healthDocumentSchema, type HealthDocument } from './health-schema.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const at = (ms: number) => new Date(ms).toISOString();
const jobId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function change(n: number, old_status: AdminJobChange['old_status'], status: AdminJobChange['status'], time: number, model_id = 'flash'): AdminJobChange {
  return { id: jobId(n), model_id, status, old_status, attempt: 1, progress: null, stage: null, error_class: null, updated_at: at(time) };
}

/** A 3-bucket, 1-minute document starting at T0, shaped as job_health returns it. */
function doc(): HealthDocument {
  const zeros = () => [0, 0, 0];
  return healthDocumentSchema.parse({
    generated_at: at(T0 + 2 * MINUTE + 5000),
    rolled_up_to: at(T0 + MINUTE),
    window: { from: at(T0), to: at(T0 + 2 * MINUTE + 5000), bucket_seconds: 60 },
    current: { queued: 2, running: 1, oldest_queued_seconds: 30, active_workers: 1 },
    totals: { created: 5, claimed: 3, succeeded: 1, failed: 1, requeued: 0, retried: 0, cancelled: 0, refunds: 1, refunded_credits: 1, failure_rate: 0.5 },
    series: {
      bucket: [at(T0), at(T0 + MINUTE), at(T0 + 2 * MINUTE)],
      created: [2, 2, 1], claimed: [1, 1, 1], succeeded: [1, 0, 0], failed: [0, 1, 0],
      requeued: zeros(), retried: zeros(), cancelled: zeros(), refunds: [0, 1, 0], refunded_credits: [0, 1, 0],
      failure_rate: [0, 1, null], queued: [1, 2, 2], running: [1, 1, 1],
    },
    models: ['flash', 'pro'].map((model_id) => ({
      model_id, enabled: true, paused: false, verification_state: 'verified', circuit_state: 'closed', consecutive_failures: 0,
      opened_at: null, retry_after_until: null, queued: model_id === 'flash' ? 2 : 0, running: model_id === 'flash' ? 1 : 0,
      calls: 0, ok: 0, rate_limited: 0, server_error: 0, timeout: 0, other_error: 0, cost_usd: 0, p50_ms: null, p95_ms: null, p99_ms: null,
      latency: { calls: zeros(), errors: zeros(), p50_ms: [null, null, null], p95_ms: [null, null, null], p99_ms: [null, null, null] },
    })),
  });
}

describe('transitionCounts', () => {
  test('counts what each transition means', () => {
    assert.deepEqual(transitionCounts({ old_status: null, status: 'queued' }), ['created']);
    assert.deepEqual(transitionCounts({ old_status: 'queued', status: 'running' }), ['claimed']);
    assert.deepEqual(transitionCounts({ old_status: 'running', status: 'failed' }), ['failed']);
    assert.deepEqual(transitionCounts({ old_status: 'queued', status: 'cancelled' }), ['cancelled']);
    assert.deepEqual(transitionCounts({ old_status: 'running', status: 'running' }), []);
  });
});

describe('applyJobChangesToHealth', () => {
  test('a new job raises queue depth and the current bucket’s created count', () => {
    const next = applyJobChangesToHealth(doc(), [change(1, null, 'queued', T0 + 2 * MINUTE + 10_000)]);
    assert.equal(next.current.queued, 3);
    assert.equal(next.series.created[2], 2);
    assert.equal(next.series.queued[2], 3);
    assert.equal(next.totals.created, 6);
    assert.equal(next.models.find((m) => m.model_id === 'flash')!.queued, 3);
  });

  test('a claim and a success move queued → running → done and the failure rate', () => {
    const t = T0 + 2 * MINUTE + 10_000;
    const next = applyJobChangesToHealth(doc(), [change(1, 'queued', 'running', t), change(2, 'running', 'succeeded', t)]);
    assert.equal(next.current.queued, 1);
    assert.equal(next.current.running, 1);
    assert.equal(next.series.claimed[2], 2);
    assert.equal(next.series.succeeded[2], 1);
    assert.equal(next.series.failure_rate[2], 0);
    assert.equal(next.totals.failure_rate, 0.3333);
  });

  test('a change after the last bucket slides the window', () => {
    const next = applyJobChangesToHealth(doc(), [change(1, null, 'queued', T0 + 3 * MINUTE + 1000)]);
    assert.deepEqual(next.series.bucket, [at(T0 + MINUTE), at(T0 + 2 * MINUTE), at(T0 + 3 * MINUTE)]);
    assert.deepEqual(next.series.created, [2, 1, 1]);
    assert.equal(next.series.queued[2], 3);
    assert.equal(next.series.bucket.length, next.series.failure_rate.length);
  });

  test('progress-only changes return the same document; untouched models keep their identity', () => {
    const before = doc();
    assert.equal(applyJobChangesToHealth(before, [change(1, 'running', 'running', T0 + 2 * MINUTE)]), before);
    const next = applyJobChangesToHealth(before, [change(1, null, 'queued', T0 + 2 * MINUTE + 10_000)]);
    assert.equal(next.models[1], before.models[1]);
    assert.notEqual(next.models[0], before.models[0]);
  });

  test('counts never go below zero when events cross a refetch', () => {
    const t = T0 + 2 * MINUTE + 10_000;
    const next = applyJobChangesToHealth(doc(), [change(1, 'running', 'succeeded', t), change(2, 'running', 'failed', t)]);
    assert.equal(next.current.running, 0);
  });

  test('a change the document already counts (stamped before it was generated) is not counted again', () => {
    const before = doc();
    const next = applyJobChangesToHealth(before, [change(1, null, 'queued', T0 + 2 * MINUTE + 4_000), change(2, null, 'queued', T0 + 2 * MINUTE + 6_000)]);
    assert.equal(next.current.queued, 3);
    assert.equal(next.totals.created, 6);
  });
});

describe('appendActivity', () => {
  test('newest first, one row per job, bounded', () => {
    const first = appendActivity([], [change(1, null, 'queued', T0), change(2, null, 'queued', T0 + 1000)], 3);
    assert.deepEqual(first.map((c) => c.id), [jobId(2), jobId(1)]);
    const second = appendActivity(first, [change(1, 'queued', 'running', T0 + 2000), change(3, null, 'queued', T0 + 1500), change(4, null, 'queued', T0 + 1200)], 3);
    assert.deepEqual(second.map((c) => c.id), [jobId(1), jobId(3), jobId(4)]);
    assert.equal(second[0]!.status, 'running');
  });
});
