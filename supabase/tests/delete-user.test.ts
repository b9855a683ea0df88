import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { eraseQueuedObjects } from '../functions/job-worker/object-erasure.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { balance, jobsInEveryState, query, type JobsInEveryState } from '../../testkit/database/fixtures.ts';
import { storeResultAsWorker, storeThumbnailAsApp } from '../../testkit/http/stored-result.ts';

// Deleting a user through the Auth admin API, as the Supabase dashboard does: alice has a job in
// every state, a ledger, an audit trail and an image in Storage. The policy is in the
// user-deletion migration: personal data goes, accounting records stay.
const alice = DEMO_USERS.alice.id;
let stack: TestStack;
let service: DatabaseClient;
let jobs: JobsInEveryState;
let imagePaths: string[];
let ledgerBefore: { reason: string; delta: number }[];
let balanceBefore: number;

before(async () => {
  stack = await startTestStack();
  service = createTestClient(stack, stack.secretKey);
  jobs = await jobsInEveryState(stack.db);
  const stored = await storeResultAsWorker(service, stack.db, jobs.succeeded);
  imagePaths = [stored.path, await storeThumbnailAsApp(service, jobs.succeeded, stored)];
  assert.deepEqual(imagePaths, [`${alice}/${jobs.succeeded.id}.png`, `${alice}/${jobs.succeeded.id}.thumb.jpg`]);
  await query(stack.db, 'support', `select * from public.grant_credits($1, 5, 'goodwill for alice@example.com')`, [alice]);
  ledgerBefore = (await stack.db.query(`select reason, delta::int from public.credit_ledger where user_id = $1 order by id`, [alice])).rows;
  balanceBefore = await balance(stack.db, 'alice');
  const { error } = await service.auth.admin.deleteUser(alice);
  assert.equal(error, null, 'the Auth admin API deletes a user who has jobs');
});
after(async () => {
  await stack?.stop();
});

describe('deleting a user', () => {
  test('removes the account: no auth row, no sessions, no sign-in', async () => {
    assert.equal((await stack.db.query('select 1 from auth.users where id = $1', [alice])).rowCount, 0);
    const client = createTestClient(stack, stack.publishableKey);
    const { error } = await client.auth.signInWithPassword({ email: DEMO_USERS.alice.email, password: 'jobhealth-demo' });
    assert.equal(error?.code, 'invalid_credentials');
  });

  test('keeps every job as an accounting record, with the personal content blanked', async () => {
    const { rows } = await stack.db.query(
      `select id, status, user_id, prompt, options, result, error_message, credits_cost from public.jobs where user_id = $1`,
      [alice],
    );
    assert.equal(rows.length, 6, 'one job in every state');
    for (const row of rows) {
      assert.equal(row.prompt, '');
      assert.deepEqual(row.options, {});
      assert.equal(row.result, null);
      assert.equal(row.error_message, null);
    }
    const status = Object.fromEntries(rows.map((r) => [r.id, r.status]));
    assert.equal(status[jobs.succeeded.id], 'succeeded');
    assert.equal(status[jobs.failed.id], 'failed');
    // Unfinished work stops: the queued, delayed and running jobs are cancelled.
    for (const job of [jobs.queued, jobs.delayed, jobs.running]) assert.equal(status[job.id], 'cancelled');
  });

  test('refunds unfinished jobs, forfeits the balance in one adjustment, and the ledger still adds up', async () => {
    const { rows } = await stack.db.query(`select reason, delta::int, note from public.credit_ledger where user_id = $1 order by id`, [alice]);
    assert.deepEqual(rows.slice(0, ledgerBefore.length).map(({ reason, delta }) => ({ reason, delta })), ledgerBefore, 'history is untouched');
    const added = rows.slice(ledgerBefore.length);
    const refunds = added.filter((r) => r.reason === 'job_refund');
    assert.equal(refunds.length, 3, 'the queued, delayed and running jobs');
    const refunded = refunds.reduce((sum, r) => sum + r.delta, 0);
    assert.deepEqual(added.at(-1), { reason: 'adjustment', delta: -(balanceBefore + refunded), note: 'account deleted: remaining credits forfeited' });
    const { rows: sums } = await stack.db.query(`select sum(delta)::int as total from public.credit_ledger where user_id = $1`, [alice]);
    assert.equal(sums[0].total, 0);
    assert.equal((await stack.db.query('select 1 from public.credit_accounts where user_id = $1', [alice])).rowCount, 0);
  });

  test('is audited once, and staff history stays as written', async () => {
    const { rows } = await stack.db.query(`select action, actor_role, detail from public.audit_log where target_user_id = $1 order by id`, [alice]);
    assert.deepEqual(rows.map((r) => r.action), ['grant_credits', 'delete_user']);
    assert.equal(rows[1].actor_role, 'service_role');
    assert.equal(rows[1].detail.jobs_cancelled, 3);
    assert.equal(rows[1].detail.objects_queued, 2, 'the image and its thumbnail');
  });

  test("leaves bob's jobs and account alone", async () => {
    assert.ok((await balance(stack.db, 'bob')) > 0);
    assert.equal((await stack.db.query(`select 1 from auth.users where id = $1`, [DEMO_USERS.bob.id])).rowCount, 1);
  });

  test("queues the images and their thumbnails, and the worker's erasure removes them through the Storage API", async () => {
    for (const path of imagePaths) {
      assert.equal((await service.storage.from('results').exists(path)).data, true, `${path} still there until the worker runs`);
    }
    const logs: string[] = [];
    assert.equal(await eraseQueuedObjects(service, (line) => logs.push(line)), 2);
    for (const path of imagePaths) assert.equal((await service.storage.from('results').exists(path)).data, false, `${path} erased`);
    assert.equal((await stack.db.query('select count(*)::int as n from private.object_erasures')).rows[0].n, 0);
    assert.equal(await eraseQueuedObjects(service, () => {}), 0, 'nothing left to do');
  });

  test('only the service role may work the erasure queue', async () => {
    for (const actor of ['anon', 'alice', 'admin'] as const) {
      await assert.rejects(query(stack.db, actor, 'select * from public.claim_object_erasures(10)'), /permission denied/);
    }
  });
});
