import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { balance, createJob, FLASH, testDbForFile, PRO, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

async function jobCount(): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>('select count(*)::integer as n from public.jobs');
  return rows[0]!.n;
}

async function ledgerCount(): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>('select count(*)::integer as n from public.credit_ledger');
  return rows[0]!.n;
}

describe('create_job', () => {
  test('queues the job, charges its credits and writes the queued event in one transaction', async () => {
    const startBalance = await balance(t.db, 'alice');
    const job = await createJob(t.db, 'alice', PRO, { number_of_images: 2, aspect_ratio: '16:9' });
    assert.equal(job.status, 'queued');
    assert.equal(job.user_id, DEMO_USERS.alice.id);
    assert.equal(job.credits_cost, 8, '4 credits per image x 2 images');
    assert.equal(job.attempt, 0);
    assert.equal(job.max_attempts, 3);
    assert.equal(await balance(t.db, 'alice'), startBalance - 8);

    const { rows: ledger } = await t.db.query('select delta, reason, charge_seq, actor_role from public.credit_ledger where job_id = $1', [job.id]);
    assert.deepEqual(ledger, [{ delta: '-8', reason: 'job_charge', charge_seq: 1, actor_role: 'user' }]);
    const { rows: events } = await t.db.query('select from_status, to_status, actor_id, actor_role from public.job_events where job_id = $1', [job.id]);
    assert.deepEqual(events, [{ from_status: null, to_status: 'queued', actor_id: DEMO_USERS.alice.id, actor_role: 'user' }]);
  });

  test("a job's id is a UUID version 7: its creation's millisecond first, so new jobs sort after older ones", async () => {
    const before = Date.now();
    const first = await createJob(t.db, 'alice');
    const second = await createJob(t.db, 'alice');
    const after = Date.now();
    for (const { id } of [first, second]) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'version 7, variant 10');
      const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      assert.ok(ms >= before - 1000 && ms <= after + 1000, `the id's clock ${ms} is the creation's (${before}..${after})`);
    }
    // Within one millisecond the order is the random bits'; across milliseconds it is time's.
    assert.ok(first.id.slice(0, 13) <= second.id.slice(0, 13), 'a later job sorts with or after an earlier one');
    const { rows } = await t.db.query<{ distinct_ids: number }>(
      'select count(distinct private.uuid_v7())::integer as distinct_ids from generate_series(1, 10000)',
    );
    assert.equal(rows[0]!.distinct_ids, 10000, 'ids made in the same millisecond still differ');
  });

  test('staff may create jobs for themselves too', async () => {
    await query(t.db, 'admin', `select public.grant_credits($1, 5, 'test credits')`, [DEMO_USERS.admin.id]);
    const job = await createJob(t.db, 'admin');
    assert.equal(job.user_id, DEMO_USERS.admin.id);
  });

  const refusals: [string, string, string, object, string, string | RegExp][] = [
    ['a blank prompt', FLASH, '   ', {}, '22023', 'prompt is required'],
    ['a prompt over 4000 characters', FLASH, 'x'.repeat(4001), {}, '22023', 'prompt is too long: 4001 characters, the limit is 4000'],
    ['an unknown option', FLASH, 'ok', { seed: 1 }, '22023', 'unknown option "seed": allowed are aspect_ratio, number_of_images'],
    ['a bad aspect ratio', FLASH, 'ok', { aspect_ratio: '2:1' }, '22023', 'aspect_ratio must be one of 1:1, 3:4, 4:3, 9:16, 16:9'],
    ['too many images', FLASH, 'ok', { number_of_images: 5 }, '22023', 'number_of_images must be an integer from 1 to 4'],
    ['a fractional image count', FLASH, 'ok', { number_of_images: 1.5 }, '22023', 'number_of_images must be an integer from 1 to 4'],
    ['an unknown model', 'gemini-9-ultra', 'ok', {}, '22023', 'unknown model "gemini-9-ultra"'],
  ];
  for (const [what, model, prompt, options, code, message] of refusals) {
    test(`refuses ${what} and writes nothing`, async () => {
      const [jobs, ledger] = [await jobCount(), await ledgerCount()];
      await rejects(
        query(t.db, 'alice', 'select public.create_job($1, $2, $3)', [model, prompt, JSON.stringify(options)]),
        code,
        message,
      );
      assert.equal(await jobCount(), jobs);
      assert.equal(await ledgerCount(), ledger);
    });
  }

  test('refuses options that are not an object', async () => {
    await rejects(query(t.db, 'alice', `select public.create_job($1, 'ok', '[1]')`, [FLASH]), '22023', 'options must be a JSON object');
  });

  test('refuses a disabled model', async () => {
    await t.db.query(`insert into public.models (id, display_name, credits_per_job, enabled) values ('retired-model', 'Retired', 1, false)`);
    await rejects(query(t.db, 'alice', `select public.create_job('retired-model', 'ok')`), '22023', 'model "retired-model" is disabled');
  });

  test('accepts a paused model: the job waits queued', async () => {
    await t.db.query(`insert into public.models (id, display_name, credits_per_job, paused) values ('paused-model', 'Paused', 1, true)`);
    const job = await createJob(t.db, 'alice', 'paused-model');
    assert.equal(job.status, 'queued');
  });

  test('not enough credits is PT402 with the numbers, and writes nothing', async () => {
    // bob starts with 20 credits; a 4-image pro job costs 16, two of them 32.
    await createJob(t.db, 'bob', PRO, { number_of_images: 4 });
    const [jobs, ledger] = [await jobCount(), await ledgerCount()];
    await rejects(
      query(t.db, 'bob', 'select public.create_job($1, $2, $3)', [PRO, 'again', '{"number_of_images": 4}']),
      'PT402',
      'not enough credits: this job costs 16 credits and your balance is 4',
    );
    assert.equal(await balance(t.db, 'bob'), 4);
    assert.equal(await jobCount(), jobs);
    assert.equal(await ledgerCount(), ledger);
  });

  test('a user with no credit account at all gets the same PT402', async () => {
    await rejects(query(t.db, 'support', 'select public.create_job($1, $2)', [FLASH, 'ok']), 'PT402', /your balance is 0$/);
  });

  test('the queued-jobs limit is PT429', async () => {
    const { rows } = await t.db.query<{ n: number }>(`select count(*)::integer as n from public.jobs where user_id = $1 and status = 'queued'`, [
      DEMO_USERS.alice.id,
    ]);
    for (let i = rows[0]!.n; i < 20; i++) await createJob(t.db, 'alice');
    const jobs = await jobCount();
    await rejects(query(t.db, 'alice', 'select public.create_job($1, $2)', [FLASH, 'one more']), 'PT429', 'too many queued jobs: you have 20, the limit is 20');
    assert.equal(await jobCount(), jobs);
  });

  test('anon and the service role may not create jobs', async () => {
    await rejects(query(t.db, 'anon', 'select public.create_job($1, $2)', [FLASH, 'ok']), '42501', 'permission denied for function create_job');
    await rejects(
      query(t.db, 'service', 'select public.create_job($1, $2)', [FLASH, 'ok']),
      '42501',
      'permission denied for function create_job',
    );
  });
});
