import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeJob, mergeJobRows, type Job } from './job-schema.ts';

const base = { id: '00000000-0000-4000-8000-000000000001', status: 'running', progress: 40, updated_at: '2026-01-01T00:00:02Z' } as Job;

test('a newer row replaces the cached job', () => {
  const newer = { ...base, status: 'succeeded', progress: 100, updated_at: '2026-01-01T00:00:03Z' } as Job;
  assert.equal(mergeJob(base, newer), newer);
});

test('an older row arriving late never moves the job backwards', () => {
  const older = { ...base, progress: 5, updated_at: '2026-01-01T00:00:01Z' } as Job;
  assert.equal(mergeJob(base, older), base);
});

test('with nothing cached the incoming row is taken', () => {
  assert.equal(mergeJob(undefined, base), base);
});

test('row by row: a row the cache holds newer stays, the others are taken as they came', () => {
  const other = { ...base, id: '00000000-0000-4000-8000-000000000002' } as Job;
  const cachedNewer = { ...base, status: 'succeeded', updated_at: '2026-01-01T00:00:05Z' } as Job;
  const incoming = [base, { ...other, progress: 80, updated_at: '2026-01-01T00:00:04Z' } as Job];
  const merged = mergeJobRows([cachedNewer, other], incoming);
  assert.equal(merged[0], cachedNewer);
  assert.equal(merged[1], incoming[1]);
});
