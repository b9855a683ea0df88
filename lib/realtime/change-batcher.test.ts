import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdminJobChange } from '../admin-jobs/admin-job-change.ts';
import { parseAdminJobChanges } from '../admin-jobs/admin-job-change.ts';
import { createChangeBatcher, mergeChange } from './change-batcher.ts';
import { manualTimers } from './manual-timers.ts';

const JOB_A = '00000000-0000-4000-8000-00000000000a';
const JOB_B = '00000000-0000-4000-8000-00000000000b';

function change(id: string, status: AdminJobChange['status'], old_status: AdminJobChange['old_status'], second: number, progress: number | null = null): AdminJobChange {
  return { id, model_id: 'flash', status, old_status, attempt: 1, progress, stage: null, error_class: null, updated_at: new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString() };
}

describe('mergeChange', () => {
  test('keeps the newest change and the status the job had before the first one', () => {
    const merged = mergeChange(change(JOB_A, 'running', 'queued', 1), change(JOB_A, 'succeeded', 'running', 2));
    assert.equal(merged.status, 'succeeded');
    assert.equal(merged.old_status, 'queued');
  });

  test('an older change arriving late does not move the job backwards', () => {
    const merged = mergeChange(change(JOB_A, 'succeeded', 'running', 5), change(JOB_A, 'running', 'queued', 3));
    assert.equal(merged.status, 'succeeded');
    assert.equal(merged.old_status, 'queued');
  });
});

describe('createChangeBatcher', () => {
  test('delivers a lone change on the next tick', () => {
    const { timers, advance } = manualTimers();
    const batches: AdminJobChange[][] = [];
    const batcher = createChangeBatcher<AdminJobChange>((b) => batches.push(b), { intervalMs: 250, timers });
    batcher.push(change(JOB_A, 'queued', null, 0));
    assert.equal(batches.length, 0);
    advance(0);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]![0]!.id, JOB_A);
  });

  test('500 changes a second arrive as at most 4 batches a second, one entry per job', () => {
    const { timers, advance } = manualTimers();
    const batches: AdminJobChange[][] = [];
    const batcher = createChangeBatcher<AdminJobChange>((b) => batches.push(b), { intervalMs: 250, timers });
    for (let i = 0; i < 500; i++) {
      batcher.push(change(i % 2 ? JOB_A : JOB_B, 'running', 'running', 0, i));
      advance(2);
    }
    advance(250);
    assert.ok(batches.length <= 5, `${batches.length} batches`);
    for (const batch of batches) assert.ok(batch.length <= 2);
    const last = batches.at(-1)!;
    assert.deepEqual(last.map((c) => c.progress).sort((a, b) => a! - b!), [498, 499]);
  });

  test('runs no timer while nothing is pending', () => {
    const { timers, advance, pendingTimers } = manualTimers();
    const batcher = createChangeBatcher(() => {}, { timers });
    batcher.push(change(JOB_A, 'queued', null, 0));
    advance(1000);
    assert.equal(pendingTimers(), 0);
  });

  test('flush delivers at once and cancel drops what is pending', () => {
    const { timers, advance } = manualTimers();
    const batches: AdminJobChange[][] = [];
    const batcher = createChangeBatcher<AdminJobChange>((b) => batches.push(b), { timers });
    batcher.push(change(JOB_A, 'queued', null, 0));
    batcher.flush();
    assert.equal(batches.length, 1);
    batcher.push(change(JOB_B, 'queued', null, 0));
    batcher.cancel();
    advance(1000);
    assert.equal(batches.length, 1);
  });
});

describe('parseAdminJobChanges', () => {
  const at = Date.UTC(2026, 10, 23, 12, 0, 1, 234);
  const entry = (id: string, status: string, oldStatus: string | null) => [id, 'flash', status, oldStatus, 1, 5, 'generating', null, at];

  test("reads a statement's message as one change per job, in the row's shape", () => {
    const changes = parseAdminJobChanges({ jobs: [entry(JOB_A, 'running', 'queued'), entry(JOB_B, 'queued', null)] });
    assert.deepEqual(changes, [
      { id: JOB_A, model_id: 'flash', status: 'running', old_status: 'queued', attempt: 1, progress: 5, stage: 'generating', error_class: null, updated_at: '2026-11-23T12:00:01.234Z' },
      { id: JOB_B, model_id: 'flash', status: 'queued', old_status: null, attempt: 1, progress: 5, stage: 'generating', error_class: null, updated_at: '2026-11-23T12:00:01.234Z' },
    ]);
  });

  test('drops a malformed message whole', () => {
    assert.deepEqual(parseAdminJobChanges({ jobs: [entry(JOB_A, 'running', 'queued'), entry(JOB_B, 'exploded', null)] }), []);
    assert.deepEqual(parseAdminJobChanges({ jobs: [entry('not-a-uuid', 'queued', null)] }), []);
    assert.deepEqual(parseAdminJobChanges({ jobs: [entry(JOB_A, 'queued', null).slice(0, 8)] }), []);
    assert.deepEqual(parseAdminJobChanges(change(JOB_A, 'queued', null, 0)), [], 'one job as an object is not the shape');
    assert.deepEqual(parseAdminJobChanges(undefined), []);
  });
});
