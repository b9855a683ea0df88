import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobEvent, ProviderCall } from './job-records-query.ts';
import { buildJobWaterfall, traceIdOf } from './job-waterfall.ts';

const T0 = Date.parse('2026-12-08T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
let nextId = 1;
const event = (ms: number, from: string | null, to: string, attempt: number, actor_role = 'worker', detail: Record<string, unknown> = {}): JobEvent => ({
  id: nextId++, at: at(ms), from_status: from, to_status: to, attempt, actor_id: null, actor_role, detail,
});
const call = (ms: number, duration_ms: number, attempt: number, outcome: string, http_status: number, retry_after_ms: number | null = null): ProviderCall => ({
  id: nextId++, attempt, model_id: 'gemini-2.5-flash-image', worker_id: 'w', started_at: at(ms), duration_ms, http_status, outcome, retry_after_ms, cost_usd: 0,
});
const rows = (w: ReturnType<typeof buildJobWaterfall>) => w!.spans.map((s) => [s.label, s.depth, s.start - T0, s.end - T0]);

describe('the job waterfall', () => {
  test('a job that waits, meets a 429, waits out its Retry-After and succeeds', () => {
    const w = buildJobWaterfall(
      [event(0, null, 'queued', 0, 'user'), event(1000, 'queued', 'running', 1), event(6000, 'running', 'succeeded', 1)],
      [call(1100, 200, 1, 'rate_limited', 429, 1000), call(2400, 3000, 1, 'ok', 200)],
      T0 + 6000,
    );
    assert.deepEqual(rows(w), [
      ['In the queue', 0, 0, 1000],
      ['Attempt 1', 0, 1000, 6000],
      ['Gemini gemini-2.5-flash-image', 1, 1100, 1300],
      ['Retry-After wait', 1, 1300, 2400],
      ['Gemini gemini-2.5-flash-image', 1, 2400, 5400],
      ['Upload and completion', 1, 5400, 6000],
      ['Succeeded', 0, 6000, 6000],
    ]);
    assert.deepEqual([w!.start - T0, w!.end - T0], [0, 6000]);
    assert.equal(w!.spans[2]!.kind, 'call_error');
    assert.equal(w!.spans[3]!.detail, 'asked 1000 ms');
  });

  test('a retry between attempts, a requeue by staff, and a failure with its refund', () => {
    const w = buildJobWaterfall(
      [
        event(0, null, 'queued', 0, 'user'),
        event(500, 'queued', 'running', 1),
        event(2500, 'running', 'queued', 1, 'worker', { run_at: at(4500), error_class: 'server_error' }),
        event(5000, 'queued', 'running', 2),
        event(7000, 'running', 'queued', 2, 'admin', { reason: 'stuck' }),
        event(8000, 'queued', 'running', 3),
        event(9000, 'running', 'failed', 3, 'worker', { error_class: 'invalid_argument' }),
      ],
      [call(600, 1000, 1, 'server_error', 503), call(1800, 600, 1, 'server_error', 503), call(8100, 300, 3, 'client_error', 400)],
      T0 + 9000,
    );
    assert.deepEqual(rows(w), [
      ['In the queue', 0, 0, 500],
      ['Attempt 1', 0, 500, 2500],
      ['Gemini gemini-2.5-flash-image', 1, 600, 1600],
      ['Backoff', 1, 1600, 1800],
      ['Gemini gemini-2.5-flash-image', 1, 1800, 2400],
      ['Retry scheduled: waiting to retry', 0, 2500, 4500],
      ['In the queue', 0, 4500, 5000],
      ['Attempt 2', 0, 5000, 7000],
      ['Requeued, in the queue', 0, 7000, 8000],
      ['Attempt 3', 0, 8000, 9000],
      ['Gemini gemini-2.5-flash-image', 1, 8100, 8400],
      ['Failed and refunded', 0, 9000, 9000],
    ]);
    const requeue = w!.spans.find((s) => s.label === 'Requeued, in the queue')!;
    assert.deepEqual([requeue.kind, requeue.detail], ['staff', 'by admin: stuck']);
    assert.equal(w!.spans.at(-1)!.detail, 'invalid_argument');
  });

  test('a running job: its attempt is open and drawn to the latest known time', () => {
    const w = buildJobWaterfall([event(0, null, 'queued', 0, 'user'), event(300, 'queued', 'running', 1)], [], T0 + 2000);
    assert.deepEqual(rows(w), [['In the queue', 0, 0, 300], ['Attempt 1', 0, 300, 2000]]);
    assert.equal(w!.spans[1]!.open, true);
  });

  test('no timeline, no waterfall', () => {
    assert.equal(buildJobWaterfall([], [], 0), null);
  });

  test('the trace id of a traceparent, and nothing from anything else', () => {
    assert.equal(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(traceIdOf('garbage'), null);
    assert.equal(traceIdOf(null), null);
  });
});
