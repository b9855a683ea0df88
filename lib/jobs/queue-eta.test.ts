import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeQueueEta, formatDuration } from './queue-eta.ts';
import type { QueuePosition } from './queue-position-query.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const queue = (over: Partial<QueuePosition> = {}): QueuePosition => ({
  job_id: '00000000-0000-4000-8000-000000000001',
  model_id: 'gemini-2.5-flash-image',
  status: 'queued',
  ahead: 4,
  ahead_capped: false,
  running: 2,
  model_paused: false,
  latency_p50_ms: 3000,
  latency_calls: 50,
  ...over,
});
const queued = { status: 'queued' as const, run_at: '2026-11-23T11:59:00Z', attempted_at: null };
const running = (secondsAgo: number) => ({
  status: 'running' as const,
  run_at: '2026-11-23T11:59:00Z',
  attempted_at: new Date(NOW - secondsAgo * 1000).toISOString(),
});

describe('computeQueueEta', () => {
  test('a queued job: position is jobs ahead + 1; they are served `running` at a time, then this one', () => {
    assert.deepEqual(computeQueueEta(queued, queue(), NOW), { kind: 'queued', position: '5', etaMs: 2 * 3000 + 3000, paused: false });
    assert.deepEqual(computeQueueEta(queued, queue({ ahead: 0, running: 0 }), NOW), { kind: 'queued', position: '1', etaMs: 3000, paused: false });
    // Nothing running yet still serves at least one at a time.
    assert.equal((computeQueueEta(queued, queue({ ahead: 3, running: 0 }), NOW) as { etaMs: number }).etaMs, 4 * 3000);
  });

  test('a retry waiting for its run_at cannot start before it', () => {
    const later = { ...queued, run_at: new Date(NOW + 60_000).toISOString() };
    assert.equal((computeQueueEta(later, queue({ ahead: 0 }), NOW) as { etaMs: number }).etaMs, 60_000 + 3000);
  });

  test('no estimate without latency, for a paused model, or past the cap ("1000+")', () => {
    assert.deepEqual(computeQueueEta(queued, queue({ latency_p50_ms: null }), NOW), { kind: 'queued', position: '5', etaMs: null, paused: false });
    assert.deepEqual(computeQueueEta(queued, queue({ model_paused: true }), NOW), { kind: 'queued', position: '5', etaMs: null, paused: true });
    assert.deepEqual(computeQueueEta(queued, queue({ ahead: 1000, ahead_capped: true }), NOW), { kind: 'queued', position: '1000+', etaMs: null, paused: false });
  });

  test('a running job: p50 minus the time since the claim, never negative, "any moment now" past it', () => {
    assert.deepEqual(computeQueueEta(running(1), queue({ ahead: null }), NOW), { kind: 'running', remainingMs: 2000, overdue: false });
    assert.deepEqual(computeQueueEta(running(5), queue({ ahead: null }), NOW), { kind: 'running', remainingMs: 0, overdue: true });
    assert.deepEqual(computeQueueEta(running(1), queue({ ahead: null, latency_p50_ms: null }), NOW), { kind: 'running', remainingMs: null, overdue: false });
  });

  test('nothing to say without an answer or for a finished job', () => {
    assert.deepEqual(computeQueueEta(queued, null, NOW), { kind: 'none' });
    assert.deepEqual(computeQueueEta({ ...queued, status: 'succeeded' }, queue({ ahead: null }), NOW), { kind: 'none' });
  });
});

test('formatDuration rounds the way people say it', () => {
  assert.equal(formatDuration(200), 'about 1 s');
  assert.equal(formatDuration(12_400), 'about 12 s');
  assert.equal(formatDuration(150_000), 'about 3 min');
  assert.equal(formatDuration(3 * 3600_000), 'about 3 h');
});
