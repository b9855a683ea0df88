import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claim, createJob, getJob, jobsInEveryState, openTestDb, query, rejects, statuses, type TestDb } from './fixtures.ts';

let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(async () => {
  await t.close();
});

async function complete(id: string, token: string | null, result: object = { image: 'x.png' }) {
  const [row] = await query<{ r: { outcome: string; status: string | null } }>(t.db, 'service', 'select public.complete_job($1, $2, $3) as r', [
    id,
    token,
    JSON.stringify(result),
  ]);
  return row!.r;
}

describe('complete_job', () => {
  test('running -> succeeded with the result; lease cleared; event written', async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    assert.equal(running!.id, job.id);
    assert.deepEqual(await complete(job.id, running!.lease_token), { outcome: 'succeeded', status: 'succeeded' });
    const done = await getJob(t.db, job.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 100);
    assert.equal(done.lease_token, null);
    assert.deepEqual((done as unknown as { result: unknown }).result, { image: 'x.png' });
    const { rows } = await t.db.query(`select from_status, to_status, actor_role from public.job_events where job_id = $1 order by id desc limit 1`, [job.id]);
    assert.deepEqual(rows[0], { from_status: 'running', to_status: 'succeeded', actor_role: 'worker' });
  });

  test('is fenced for every job that is not running under that token, and changes nothing', async () => {
    const jobs = await jobsInEveryState(t.db);
    const ids = Object.values(jobs).map((j) => j.id);
    const before = await statuses(t.db, ids);
    const eventsBefore = (await t.db.query('select count(*)::integer as n from public.job_events')).rows[0].n;
    for (const [state, job] of Object.entries(jobs)) {
      const wrongToken = state === 'running' ? '00000000-0000-4000-8000-000000000000' : job.lease_token;
      const r = await complete(job.id, wrongToken);
      assert.deepEqual(r, { outcome: 'fenced', status: before[job.id] }, state);
    }
    assert.deepEqual(await statuses(t.db, ids), before);
    assert.equal((await t.db.query('select count(*)::integer as n from public.job_events')).rows[0].n, eventsBefore);
  });

  test('an unknown job is fenced with status null', async () => {
    assert.deepEqual(await complete('00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000'), {
      outcome: 'fenced',
      status: null,
    });
  });

  test('completing twice: the second call is fenced (safe to retry)', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    assert.equal((await complete(running!.id, running!.lease_token)).outcome, 'succeeded');
    assert.deepEqual(await complete(running!.id, running!.lease_token), { outcome: 'fenced', status: 'succeeded' });
  });

  test('only the service role may complete', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    for (const actor of ['anon', 'alice', 'support', 'admin'] as const) {
      await rejects(query(t.db, actor, 'select public.complete_job($1, $2)', [running!.id, running!.lease_token]), '42501', 'permission denied for function complete_job');
    }
    assert.equal((await getJob(t.db, running!.id)).status, 'running');
  });
});

describe('heartbeat_job', () => {
  test('extends the lease and records progress and stage', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db, 1, 'worker-1', 10);
    const [row] = await query<{ r: { fenced: boolean; lease_expires_at: string } }>(
      t.db,
      'service',
      `select public.heartbeat_job($1, $2, 40, 'calling gemini', 120) as r`,
      [running!.id, running!.lease_token],
    );
    assert.equal(row!.r.fenced, false);
    const job = await getJob(t.db, running!.id);
    assert.equal(job.progress, 40);
    assert.equal(job.stage, 'calling gemini');
    const lease = (job.lease_expires_at!.getTime() - Date.now()) / 1000;
    assert.ok(lease > 100, `lease extended to about 120 s, got ${lease}`);
    assert.equal(job.status, 'running');
  });

  test('reports fenced, with the current status, once the lease was taken away', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await query(t.db, 'admin', `select * from public.requeue_jobs(array[$1]::uuid[], 'worker looks stuck')`, [running!.id]);
    const [row] = await query<{ r: unknown }>(t.db, 'service', `select public.heartbeat_job($1, $2, 50) as r`, [running!.id, running!.lease_token]);
    assert.deepEqual(row!.r, { fenced: true, status: 'queued' });
    const job = await getJob(t.db, running!.id);
    assert.equal(job.progress, 0, 'a fenced heartbeat changes nothing');
  });

  test('refuses progress outside 0..100 and an overlong stage', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await rejects(query(t.db, 'service', `select public.heartbeat_job($1, $2, 101)`, [running!.id, running!.lease_token]), '22023', 'progress must be between 0 and 100');
    await rejects(query(t.db, 'service', `select public.heartbeat_job($1, $2, -1)`, [running!.id, running!.lease_token]), '22023', 'progress must be between 0 and 100');
    await rejects(
      query(t.db, 'service', `select public.heartbeat_job($1, $2, 1, repeat('x', 101))`, [running!.id, running!.lease_token]),
      '22023',
      'stage is too long: the limit is 100 characters',
    );
  });

  test('only the service role may heartbeat', async () => {
    await createJob(t.db);
    const [running] = await claim(t.db);
    await rejects(query(t.db, 'alice', `select public.heartbeat_job($1, $2, 1)`, [running!.id, running!.lease_token]), '42501', 'permission denied for function heartbeat_job');
  });
});
