import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { balance, claim, createJob, emptyQueue, getJob, jobsInEveryState, testDbForFile, query, rejects, statuses } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
beforeEach(async () => {
  await emptyQueue(t.db);
});

interface FailResult {
  outcome: string;
  status: string | null;
  attempt?: number;
  run_at?: string | null;
  refunded_credits?: number;
}

async function fail(id: string, token: string | null, errorClass: string, retryable: boolean, retryAfter: number | null = null) {
  const [row] = await query<{ r: FailResult }>(t.db, 'service', 'select public.fail_job($1, $2, $3, $4, $5, $6) as r', [
    id,
    token,
    errorClass,
    `${errorClass} happened`,
    retryable,
    retryAfter,
  ]);
  return row!.r;
}

async function runAgain(id: string) {
  await t.db.query('update public.jobs set run_at = now() where id = $1', [id]);
  const [job] = await claim(t.db);
  assert.equal(job!.id, id);
  return job!;
}

describe('fail_job', () => {
  test('a retryable failure requeues with backoff and records the error; no refund', async () => {
    const job = await createJob(t.db);
    const charged = await balance(t.db, 'alice');
    const [running] = await claim(t.db);
    const before = Date.now();
    const r = await fail(job.id, running!.lease_token, 'server_error', true);
    assert.equal(r.outcome, 'retry_scheduled');
    assert.equal(r.status, 'queued');
    assert.equal(r.refunded_credits, 0);
    // attempt 1: 5 s * 2^0 scaled by jitter 0.5..1.0
    const delay = (new Date(r.run_at!).getTime() - before) / 1000;
    assert.ok(delay >= 2 && delay <= 6, `backoff after attempt 1 is 2.5-5 s, got ${delay}`);
    const after = await getJob(t.db, job.id);
    assert.equal(after.lease_token, null);
    assert.equal(after.error_class, 'server_error');
    assert.equal((after.errors as { attempt: number; error_class: string }[]).length, 1);
    assert.equal(await balance(t.db, 'alice'), charged);
  });

  test('backoff doubles per attempt', async () => {
    const job = await createJob(t.db);
    await t.db.query('update public.jobs set max_attempts = 5 where id = $1', [job.id]);
    let running = (await claim(t.db))[0]!;
    await fail(job.id, running.lease_token, 'server_error', true);
    running = await runAgain(job.id);
    running = await runAgain(job.id).catch(() => running);
    const before = Date.now();
    const r = await fail(job.id, running.lease_token, 'server_error', true);
    // attempt 2: 10 s scaled by 0.5..1.0
    const delay = (new Date(r.run_at!).getTime() - before) / 1000;
    assert.equal(r.attempt, 2);
    assert.ok(delay >= 4.5 && delay <= 11, `backoff after attempt 2 is 5-10 s, got ${delay}`);
  });

  test('honours Retry-After when it is longer than the backoff', async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    const before = Date.now();
    const r = await fail(job.id, running!.lease_token, 'rate_limited', true, 120);
    const delay = (new Date(r.run_at!).getTime() - before) / 1000;
    assert.ok(delay >= 119 && delay <= 121, `run_at honours Retry-After 120 s, got ${delay}`);
  });

  test('a permanent failure ends failed and refunds the charge', async () => {
    const job = await createJob(t.db);
    const charged = await balance(t.db, 'alice');
    const [running] = await claim(t.db);
    const r = await fail(job.id, running!.lease_token, 'not_found', false);
    assert.deepEqual(r, { outcome: 'failed', status: 'failed', attempt: 1, run_at: null, refunded_credits: 1 });
    assert.equal(await balance(t.db, 'alice'), charged + 1);
    const { rows } = await t.db.query(`select reason, delta from public.credit_ledger where job_id = $1 order by id`, [job.id]);
    assert.deepEqual(rows, [
      { reason: 'job_charge', delta: '-1' },
      { reason: 'job_refund', delta: '1' },
    ]);
  });

  test('the last attempt fails for good and refunds, even when retryable', async () => {
    const job = await createJob(t.db);
    let running = (await claim(t.db))[0]!;
    for (let attempt = 1; attempt < 3; attempt++) {
      assert.equal((await fail(job.id, running.lease_token, 'timeout', true)).outcome, 'retry_scheduled');
      running = await runAgain(job.id);
    }
    assert.equal(running.attempt, 3);
    const r = await fail(job.id, running.lease_token, 'timeout', true);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.refunded_credits, 1);
    const { rows } = await t.db.query(`select to_status from public.job_events where job_id = $1 order by id`, [job.id]);
    assert.deepEqual(rows.map((r) => r.to_status), ['queued', 'running', 'queued', 'running', 'queued', 'running', 'failed']);
    assert.equal(((await getJob(t.db, job.id)).errors as unknown[]).length, 3);
  });

  test('a retry that would land past the deadline fails now instead', async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    await t.db.query(`update public.jobs set deadline_at = now() + interval '1 minute' where id = $1`, [job.id]);
    const r = await fail(job.id, running!.lease_token, 'rate_limited', true, 300);
    assert.equal(r.outcome, 'failed');
  });

  test('is fenced for every job not running under that token, and changes nothing', async () => {
    const jobs = await jobsInEveryState(t.db);
    const ids = Object.values(jobs).map((j) => j.id);
    const before = await statuses(t.db, ids);
    const ledgerBefore = (await t.db.query('select count(*)::integer as n from public.credit_ledger')).rows[0].n;
    for (const [state, job] of Object.entries(jobs)) {
      const token = state === 'running' ? '00000000-0000-4000-8000-000000000000' : job.lease_token;
      assert.deepEqual(await fail(job.id, token, 'server_error', false), { outcome: 'fenced', status: before[job.id] }, state);
    }
    assert.deepEqual(await statuses(t.db, ids), before);
    assert.equal((await t.db.query('select count(*)::integer as n from public.credit_ledger')).rows[0].n, ledgerBefore);
  });

  test('refuses a missing error class or a negative Retry-After', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await rejects(fail(running!.id, running!.lease_token, ' ', true), '22023', 'error class is required (at most 64 characters)');
    await rejects(fail(running!.id, running!.lease_token, 'x', true, -1), '22023', 'retry after must not be negative');
    assert.equal((await getJob(t.db, running!.id)).status, 'running');
  });

  test('only the service role may fail a job', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await rejects(
      query(t.db, 'admin', `select public.fail_job($1, $2, 'x', 'y')`, [running!.id, running!.lease_token]),
      '42501',
      'permission denied for function fail_job',
    );
  });
});
