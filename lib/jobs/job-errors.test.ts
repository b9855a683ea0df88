import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeJobError } from './job-errors.ts';

test('PT402 becomes a credits error that keeps the numbers', () => {
  const view = describeJobError({ code: 'PT402', message: 'not enough credits: this job costs 16 credits and your balance is 4' });
  assert.equal(view.kind, 'credits');
  assert.equal(view.message, 'Not enough credits: this job costs 16 credits and your balance is 4.');
});

test('PT429 becomes the rate-limit error', () => {
  const view = describeJobError({ code: 'PT429', message: 'too many queued jobs: you have 20, the limit is 20' });
  assert.equal(view.kind, 'rate_limit');
  assert.match(view.message, /^Too many jobs waiting: you have 20, the limit is 20\./);
});

test('a disabled model is told apart from other invalid input', () => {
  assert.equal(describeJobError({ code: '22023', message: 'model "m" is disabled' }).kind, 'disabled_model');
  const invalid = describeJobError({ code: '22023', message: 'prompt is required' });
  assert.deepEqual(invalid, { kind: 'invalid', message: 'Prompt is required' });
});

test('an expired session asks to sign in again; anything else keeps its message', () => {
  assert.equal(describeJobError({ code: '42501', message: 'x' }).kind, 'auth');
  assert.deepEqual(describeJobError({ code: null, message: 'network down' }), { kind: 'unknown', message: 'Network down' });
});

test("a job's state that does not allow the action says which, and a job gone says so", () => {
  assert.deepEqual(describeJobError({ code: 'PT409', message: 'job is queued: cancel it first, then delete it' }), {
    kind: 'conflict',
    message: 'This job is queued: cancel it first, then delete it.',
  });
  assert.deepEqual(describeJobError({ code: 'PT409', message: 'job was deleted: its prompt is gone' }), {
    kind: 'conflict',
    message: 'This job was deleted: its prompt is gone.',
  });
  assert.deepEqual(describeJobError({ code: 'PT404', message: 'job not found' }), { kind: 'not_found', message: 'This job no longer exists.' });
});
