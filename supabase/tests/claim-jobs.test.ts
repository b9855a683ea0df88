import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { claim, createJob, emptyQueue, FLASH, getJob, jobsInEveryState, testDbForFile, PRO, query, rejects, statuses } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
// Each test starts from an empty queue.
beforeEach(async () => {
  await emptyQueue(t.db);
  await t.db.query(`update public.models set enabled = true, paused = false`);
  await t.db.query(`update public.model_health set circuit_state = 'closed', opened_at = null, half_open_at = null, retry_after_until = null`);
});

describe('claim_jobs', () => {
  test('claims only the ready queued job and leaves every other state alone', async () => {
    const jobs = await jobsInEveryState(t.db);
    const ids = Object.values(jobs).map((j) => j.id);
    const before = await statuses(t.db, ids);
    const claimed = await claim(t.db, 10, 'worker-9', 30);
    assert.deepEqual(claimed.map((j) => j.id), [jobs.queued.id]);
    const job = claimed[0]!;
    assert.equal(job.status, 'running');
    assert.equal(job.attempt, 1);
    assert.equal(job.worker_id, 'worker-9');
    assert.match(job.lease_token!, /^[0-9a-f-]{36}$/);
    const leaseSeconds = (job.lease_expires_at!.getTime() - Date.now()) / 1000;
    assert.ok(leaseSeconds > 25 && leaseSeconds <= 31, `lease of about 30 s, got ${leaseSeconds}`);
    const after = await statuses(t.db, ids);
    assert.deepEqual(after, { ...before, [jobs.queued.id]: 'running' });

    const { rows } = await t.db.query(`select from_status, to_status, attempt, actor_role, detail->>'worker_id' as worker from public.job_events where job_id = $1 order by id`, [job.id]);
    assert.deepEqual(rows.at(-1), { from_status: 'queued', to_status: 'running', attempt: 1, actor_role: 'worker', worker: 'worker-9' });
  });

  test('an empty queue returns no rows', async () => {
    assert.deepEqual(await claim(t.db, 5), []);
  });

  test('honours priority, then run_at, and the batch limit', async () => {
    const low = await createJob(t.db);
    const high = await createJob(t.db);
    const mid = await createJob(t.db);
    await t.db.query('update public.jobs set priority = 10 where id = $1', [high.id]);
    await t.db.query('update public.jobs set priority = 5 where id = $1', [mid.id]);
    const first = await claim(t.db, 2);
    assert.deepEqual(first.map((j) => j.id).sort(), [high.id, mid.id].sort());
    const second = await claim(t.db, 2);
    assert.deepEqual(second.map((j) => j.id), [low.id]);
  });

  test('a job whose run_at is in the future waits', async () => {
    const job = await createJob(t.db);
    await t.db.query(`update public.jobs set run_at = now() + interval '1 minute' where id = $1`, [job.id]);
    assert.deepEqual(await claim(t.db, 5), []);
    await t.db.query(`update public.jobs set run_at = now() - interval '1 second' where id = $1`, [job.id]);
    assert.deepEqual((await claim(t.db, 5)).map((j) => j.id), [job.id]);
  });

  test('skips paused and disabled models', async () => {
    const flash = await createJob(t.db, 'alice', FLASH);
    const pro = await createJob(t.db, 'alice', PRO);
    await t.db.query(`update public.models set paused = true where id = $1`, [FLASH]);
    assert.deepEqual((await claim(t.db, 5)).map((j) => j.id), [pro.id]);
    await t.db.query(`update public.models set paused = false, enabled = false where id = $1`, [FLASH]);
    assert.deepEqual(await claim(t.db, 5), []);
    await t.db.query(`update public.models set enabled = true where id = $1`, [FLASH]);
    assert.deepEqual((await claim(t.db, 5)).map((j) => j.id), [flash.id]);
  });

  test('skips a model whose circuit is open or that is under a Retry-After', async () => {
    const job = await createJob(t.db);
    await t.db.query(`update public.model_health set circuit_state = 'open', opened_at = now() where model_id = $1`, [FLASH]);
    assert.deepEqual(await claim(t.db, 5), []);
    await t.db.query(`update public.model_health set circuit_state = 'closed', retry_after_until = now() + interval '1 minute' where model_id = $1`, [FLASH]);
    assert.deepEqual(await claim(t.db, 5), []);
    await t.db.query(`update public.model_health set retry_after_until = null where model_id = $1`, [FLASH]);
    assert.deepEqual((await claim(t.db, 5)).map((j) => j.id), [job.id]);
  });

  test('after the cool-down an open circuit turns half-open and lets exactly one probe through', async () => {
    const jobs = [await createJob(t.db), await createJob(t.db), await createJob(t.db)];
    await t.db.query(`update public.model_health set circuit_state = 'open', opened_at = now() - interval '31 seconds' where model_id = $1`, [FLASH]);
    const probe = await claim(t.db, 10);
    assert.equal(probe.length, 1, 'one probe job');
    const { rows } = await t.db.query('select circuit_state from public.model_health where model_id = $1', [FLASH]);
    assert.equal(rows[0].circuit_state, 'half_open');
    assert.deepEqual(await claim(t.db, 10), [], 'no second probe while the first runs');
    assert.ok(jobs.some((j) => j.id === probe[0]!.id));
  });

  test('re-claiming a requeued job increments the attempt and issues a new lease token', async () => {
    const job = await createJob(t.db);
    const [first] = await claim(t.db);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'server_error', '503', true, 0)`, [first!.id, first!.lease_token]);
    await t.db.query(`update public.jobs set run_at = now() where id = $1`, [job.id]);
    const [second] = await claim(t.db);
    assert.equal(second!.id, job.id);
    assert.equal(second!.attempt, 2);
    assert.notEqual(second!.lease_token, first!.lease_token);
  });

  test('refuses bad arguments with 22023', async () => {
    await rejects(query(t.db, 'service', `select * from public.claim_jobs('w', 0)`), '22023', 'limit must be between 1 and 500');
    await rejects(query(t.db, 'service', `select * from public.claim_jobs('w', 501)`), '22023', 'limit must be between 1 and 500');
    await rejects(query(t.db, 'service', `select * from public.claim_jobs('w', 1, 1)`), '22023', 'lease must be between 5 and 3600 seconds');
    await rejects(query(t.db, 'service', `select * from public.claim_jobs(' ', 1)`), '22023', 'worker id is required (at most 200 characters)');
  });

  test('only the service role may claim', async () => {
    const job = await createJob(t.db);
    for (const actor of ['anon', 'alice', 'support', 'admin'] as const) {
      await rejects(query(t.db, actor, `select * from public.claim_jobs('w', 1)`), '42501', 'permission denied for function claim_jobs');
    }
    assert.equal((await getJob(t.db, job.id)).status, 'queued');
  });
});
