import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claim, createJob, emptyQueue, type Job, notificationsDuring, openTestDb, query, type TestDb } from '../../testkit/database/fixtures.ts';

// The worker wake-up: NOTIFY job_dispatch whenever a job becomes ready to run now, delivered once
// per transaction, and never for changes that give the worker nothing new to do.
let t: TestDb;
before(async () => {
  t = await openTestDb();
  await emptyQueue(t.db);
});
after(async () => {
  await t.close();
});

const wakes = (fn: () => Promise<unknown>) => notificationsDuring(t, 'job_dispatch', fn);

async function failedJob(): Promise<string> {
  await createJob(t.db);
  const [job] = await claim(t.db);
  await query(t.db, 'service', `select public.fail_job($1, $2, 'client_error', 'bad request', false)`, [job!.id, job!.lease_token]);
  return job!.id;
}

describe('job_dispatch wake-ups', () => {
  test('a new job wakes the worker', async () => {
    assert.equal(await wakes(() => createJob(t.db)), 1);
    await emptyQueue(t.db);
  });

  test('claims, heartbeats and completions do not', async () => {
    await createJob(t.db);
    let claimed: Job[] = [];
    assert.equal(await wakes(async () => (claimed = await claim(t.db))), 0);
    const job = claimed[0]!;
    assert.equal(await wakes(() => query(t.db, 'service', 'select public.heartbeat_job($1, $2, 40)', [job.id, job.lease_token])), 0);
    assert.equal(await wakes(() => query(t.db, 'service', 'select public.complete_job($1, $2)', [job.id, job.lease_token])), 0);
  });

  test('a retry with backoff does not (the sweep picks it up when due); a final failure does not', async () => {
    await createJob(t.db);
    const [job] = await claim(t.db);
    assert.equal(
      await wakes(() => query(t.db, 'service', `select public.fail_job($1, $2, 'timeout', 'slow', true)`, [job!.id, job!.lease_token])),
      0,
    );
    await emptyQueue(t.db);
    await createJob(t.db);
    const [last] = await claim(t.db);
    assert.equal(
      await wakes(() => query(t.db, 'service', `select public.fail_job($1, $2, 'client_error', 'bad', false)`, [last!.id, last!.lease_token])),
      0,
    );
  });

  test('a bulk retry of failed jobs wakes the worker once', async () => {
    const ids = [await failedJob(), await failedJob(), await failedJob()];
    assert.equal(await wakes(() => query(t.db, 'admin', `select * from public.retry_jobs($1::uuid[], 'provider fixed')`, [ids])), 1);
    const { rows } = await t.db.query(`select count(*)::integer as n from public.jobs where id = any($1) and status = 'queued'`, [ids]);
    assert.equal(rows[0].n, 3);
  });
});
