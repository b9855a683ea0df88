import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { balance, claim, createJob, emptyQueue, getJob, jobsInEveryState, testDbForFile, query, rejects, statuses } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
beforeEach(async () => {
  await emptyQueue(t.db);
});

async function reap(): Promise<{ requeued: number; failed: number; refunded_credits: number }> {
  const [row] = await query<{ r: { requeued: number; failed: number; refunded_credits: number } }>(t.db, 'service', 'select public.reap_expired_jobs() as r');
  return row!.r;
}

async function expireLease(id: string) {
  await t.db.query(`update public.jobs set lease_expires_at = now() - interval '1 second' where id = $1`, [id]);
}

describe('reap_expired_jobs', () => {
  test('requeues a running job whose lease expired, with backoff; the old worker is fenced out', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await expireLease(running!.id);
    assert.deepEqual(await reap(), { requeued: 1, failed: 0, refunded_credits: 0 });
    const job = await getJob(t.db, running!.id);
    assert.equal(job.status, 'queued');
    assert.equal(job.error_class, 'lease_expired');
    assert.equal(job.lease_token, null);
    assert.ok(job.run_at.getTime() > Date.now(), 'requeued with backoff');
    const late = await query<{ r: { outcome: string } }>(t.db, 'service', 'select public.complete_job($1, $2) as r', [running!.id, running!.lease_token]);
    assert.equal(late[0]!.r.outcome, 'fenced');
    const { rows } = await t.db.query(`select from_status, to_status, actor_role from public.job_events where job_id = $1 order by id desc limit 1`, [running!.id]);
    assert.deepEqual(rows[0], { from_status: 'running', to_status: 'queued', actor_role: 'reaper' });
  });

  test('fails and refunds a job whose lease expired on its last attempt', async () => {
    const created = await createJob(t.db);
    await t.db.query('update public.jobs set max_attempts = 1 where id = $1', [created.id]);
    const before = await balance(t.db, 'alice');
    const [running] = await claim(t.db);
    await expireLease(running!.id);
    assert.deepEqual(await reap(), { requeued: 0, failed: 1, refunded_credits: 1 });
    const job = await getJob(t.db, running!.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.error_class, 'lease_expired');
    assert.equal(await balance(t.db, 'alice'), before + 1);
  });

  test('fails and refunds queued and running jobs past their deadline', async () => {
    const queued = await createJob(t.db);
    // Delayed, so the claim below takes the second job; a delayed job past its deadline still fails.
    await t.db.query(`update public.jobs set deadline_at = now() - interval '1 second', run_at = now() + interval '1 hour' where id = $1`, [queued.id]);
    const second = await createJob(t.db);
    const [running] = await claim(t.db);
    assert.equal(running!.id, second.id);
    await t.db.query(`update public.jobs set deadline_at = now() - interval '1 second' where id = $1`, [second.id]);
    const before = await balance(t.db, 'alice');
    assert.deepEqual(await reap(), { requeued: 0, failed: 2, refunded_credits: 2 });
    for (const id of [queued.id, second.id]) {
      const job = await getJob(t.db, id);
      assert.equal(job.status, 'failed');
      assert.equal(job.error_class, 'deadline_exceeded');
    }
    assert.equal(await balance(t.db, 'alice'), before + 2);
  });

  test('leaves every job in good standing alone', async () => {
    const jobs = await jobsInEveryState(t.db);
    const ids = Object.values(jobs).map((j) => j.id);
    const before = await statuses(t.db, ids);
    assert.deepEqual(await reap(), { requeued: 0, failed: 0, refunded_credits: 0 });
    assert.deepEqual(await statuses(t.db, ids), before);
  });

  test('running twice reaps once', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await expireLease(running!.id);
    assert.equal((await reap()).requeued, 1);
    assert.deepEqual(await reap(), { requeued: 0, failed: 0, refunded_credits: 0 });
  });

  test('only the service role (or a direct database session) may reap', async () => {
    for (const actor of ['anon', 'alice', 'support', 'admin'] as const) {
      await rejects(query(t.db, actor, 'select public.reap_expired_jobs()'), '42501', 'permission denied for function reap_expired_jobs');
    }
    const { rows } = await t.db.query('select public.reap_expired_jobs() as r');
    assert.deepEqual(rows[0].r, { requeued: 0, failed: 0, refunded_credits: 0 });
  });
});
