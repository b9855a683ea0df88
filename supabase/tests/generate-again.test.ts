import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { balance, createJob, FLASH, jobsInEveryState, openTestDb, PRO, query, rejects, type Job, type JobsInEveryState, type TestDb } from '../../testkit/database/fixtures.ts';

// generate_again against the fixture with one job in every state, all alice's: a new job made by
// create_job from the old one's model, prompt and options, charged like any new job.
let t: TestDb;
let jobs: JobsInEveryState;
before(async () => {
  t = await openTestDb();
  jobs = await jobsInEveryState(t.db);
});
after(async () => {
  await t.close();
});

const generateAgain = (actor: 'alice' | 'bob' | 'support' | 'admin' | 'anon' | 'service', id: string) =>
  query<Job & { prompt: string; options: object }>(t.db, actor, 'select * from public.generate_again($1)', [id]).then((rows) => rows[0]!);

async function jobCount(): Promise<number> {
  return (await t.db.query<{ n: number }>('select count(*)::int as n from public.jobs')).rows[0]!.n;
}

describe('generate_again', () => {
  test('from a succeeded, failed or cancelled job: a new queued job with the same model, prompt and options, charged once', async () => {
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) {
      const old = (await t.db.query('select * from public.jobs where id = $1', [jobs[state].id])).rows[0];
      const start = await balance(t.db, 'alice');
      const job = await generateAgain('alice', old.id);
      assert.notEqual(job.id, old.id);
      assert.equal(job.status, 'queued');
      assert.equal(job.user_id, DEMO_USERS.alice.id);
      assert.deepEqual([job.model_id, job.prompt, job.options], [old.model_id, old.prompt, old.options]);
      assert.equal(job.credits_cost, old.credits_cost);
      assert.equal(await balance(t.db, 'alice'), start - old.credits_cost);
      const { rows: ledger } = await t.db.query('select reason, delta::int from public.credit_ledger where job_id = $1', [job.id]);
      assert.deepEqual(ledger, [{ reason: 'job_charge', delta: -old.credits_cost }], 'one charge, on the new job');
      const after = (await t.db.query('select * from public.jobs where id = $1', [old.id])).rows[0];
      assert.deepEqual(after, old, `the ${state} job is untouched`);
    }
  });

  test('keeps the options, and so the price, of a job with several images', async () => {
    const old = await createJob(t.db, 'alice', PRO, { number_of_images: 2, aspect_ratio: '16:9' });
    await query(t.db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'changed my mind')`, [old.id]);
    const job = await generateAgain('alice', old.id);
    assert.deepEqual(job.options, { number_of_images: 2, aspect_ratio: '16:9' });
    assert.equal(job.credits_cost, old.credits_cost);
  });

  test('a queued, delayed or running job is PT409 and nothing is written', async () => {
    const count = await jobCount();
    for (const state of ['queued', 'delayed', 'running'] as const) {
      const status = state === 'running' ? 'running' : 'queued';
      await rejects(generateAgain('alice', jobs[state].id), 'PT409', `job is ${status}: it can be generated again once it has finished`);
    }
    assert.equal(await jobCount(), count);
  });

  test('not enough credits: create_job\'s PT402, nothing written', async () => {
    const count = await jobCount();
    const ledger = (await t.db.query('select count(*)::int as n from public.credit_ledger')).rows[0].n;
    await t.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note) select user_id, -balance, 'adjustment', 'service_role', 'test: empty'
         from public.credit_accounts where user_id = $1`,
      [DEMO_USERS.alice.id],
    );
    await rejects(generateAgain('alice', jobs.succeeded.id), 'PT402', /^not enough credits/);
    assert.equal(await jobCount(), count);
    assert.equal((await t.db.query('select count(*)::int as n from public.credit_ledger')).rows[0].n, ledger + 1, 'only the test\'s own adjustment');
    await query(t.db, 'support', `select public.grant_credits($1, 100, 'test credits')`, [DEMO_USERS.alice.id]);
  });

  test('the queued-jobs limit: create_job\'s PT429', async () => {
    const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from public.jobs where user_id = $1 and status = 'queued'`, [DEMO_USERS.alice.id]);
    await query(t.db, 'support', `select public.grant_credits($1, 100, 'test credits')`, [DEMO_USERS.alice.id]);
    for (let i = rows[0]!.n; i < 20; i++) await createJob(t.db, 'alice', FLASH);
    const count = await jobCount();
    await rejects(generateAgain('alice', jobs.failed.id), 'PT429', /^too many queued jobs/);
    assert.equal(await jobCount(), count);
  });

  test('only the owner: another user gets PT404, staff, anon and the service role 42501', async () => {
    const count = await jobCount();
    await rejects(generateAgain('bob', jobs.succeeded.id), 'PT404', 'job not found');
    for (const actor of ['support', 'admin', 'anon', 'service'] as const) {
      await rejects(generateAgain(actor, jobs.succeeded.id), '42501', /permission denied/);
    }
    assert.equal(await jobCount(), count);
  });

  test('a deleted job cannot be generated again: its prompt is gone', async () => {
    await query(t.db, 'alice', 'select public.delete_job($1)', [jobs.cancelled.id]);
    await rejects(generateAgain('alice', jobs.cancelled.id), 'PT409', 'job was deleted: its prompt is gone');
  });
});
