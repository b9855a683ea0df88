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

describe("the sweep's question: job_worker_has_work", () => {
  const hasWork = async () => (await t.db.query<{ w: boolean }>('select private.job_worker_has_work() as w')).rows[0]!.w;
  const claimErasures = () => query<{ id: string }>(t.db, 'service', 'select * from public.claim_object_erasures(10)');
  /** Time passing for a failed batch: its claim has run out. */
  const claimRanOut = (id: string) => t.db.query(`update private.object_erasures set claimed_until = now() - interval '1 second' where id = $1`, [id]);
  const claimLasts = async (id: string) =>
    (await t.db.query<{ s: number }>(`select extract(epoch from claimed_until - now())::float8 as s from private.object_erasures where id = $1`, [id])).rows[0]!.s;

  test('nothing queued, no jobs and no erasures: no work, so an idle project costs no invocation', async () => {
    await emptyQueue(t.db);
    assert.equal(await hasWork(), false);
  });

  test('a queued erasure is work until claimed; a failed batch is work again when its claim runs out, backing off to once a day', async () => {
    await emptyQueue(t.db);
    const { rows } = await t.db.query<{ id: string }>(
      `insert into private.object_erasures (bucket_id, name) values ('results', 'sweep-test/never-removable.png') returning id`,
    );
    const id = rows[0]!.id;
    assert.equal(await hasWork(), true, 'a queued erasure');
    assert.deepEqual((await claimErasures()).map((r) => r.id), [id]);
    assert.equal(await hasWork(), false, 'claimed: a batch in flight is not work for another invocation');
    // Storage keeps refusing: each claim lasts twice the one before, from 5 minutes, at most a day.
    const lasts: number[] = [await claimLasts(id)];
    for (let attempt = 2; attempt <= 12; attempt++) {
      await claimRanOut(id);
      assert.equal(await hasWork(), true, `attempt ${attempt} is due`);
      assert.deepEqual((await claimErasures()).map((r) => r.id), [id]);
      assert.equal(await hasWork(), false);
      lasts.push(await claimLasts(id));
    }
    const minutes = lasts.map((s) => Math.round(s / 60));
    assert.deepEqual(minutes.slice(0, 5), [5, 10, 20, 40, 80]);
    assert.equal(Math.max(...minutes), 24 * 60, 'at most a day');
    assert.equal(minutes.at(-1), 24 * 60);
    // Removed at last: it leaves the queue, and there is no work.
    await claimRanOut(id);
    await claimErasures();
    await query(t.db, 'service', 'select public.finish_object_erasures($1::bigint[])', [[id]]);
    assert.equal(await hasWork(), false);
  });
});
