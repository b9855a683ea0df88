import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { eraseQueuedObjects } from '../functions/job-worker/object-erasure.ts';
import { drawPromptImage } from '../local/gemini/image.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { adminJobsMessagesFor, jobsInEveryState, notificationsDuring, query, rejects, type JobsInEveryState } from '../../testkit/database/fixtures.ts';
import { storeResultAsWorker, storeThumbnailAsApp } from '../../testkit/http/stored-result.ts';

// delete_job against the fixture with one job in every state, all alice's, with the succeeded
// job's image and thumbnail in Storage as the worker stores them: what goes (the content, the
// objects), what stays (the job row, its ledger, its timeline), and who may do it.
const alice = DEMO_USERS.alice.id;
let stack: TestStack;
let service: DatabaseClient;
let jobs: JobsInEveryState;
let imagePaths: string[];
/** An object of another job of alice's: a deletion must leave it. */
let otherPath: string;

async function row(id: string) {
  const { rows } = await stack.db.query(
    `select status, prompt, options, result, error_message, error_class, stage, credits_cost, content_deleted_at, updated_at
       from public.jobs where id = $1`,
    [id],
  );
  return rows[0];
}

async function ledger(id: string) {
  return (await stack.db.query(`select id, reason, delta::int, charge_seq from public.credit_ledger where job_id = $1 order by id`, [id])).rows;
}

async function events(id: string) {
  return (await stack.db.query(`select id, to_status from public.job_events where job_id = $1 order by id`, [id])).rows;
}

const deleteJob = (actor: 'alice' | 'bob' | 'support' | 'admin' | 'anon' | 'service', id: string) =>
  query<{ result: { job_id: string; content_deleted_at: string; objects_queued: number } }>(stack.db, actor, 'select public.delete_job($1) as result', [id]).then(
    (rows) => rows[0]!.result,
  );

before(async () => {
  stack = await startTestStack();
  service = createTestClient(stack, stack.secretKey);
  jobs = await jobsInEveryState(stack.db);
  const stored = await storeResultAsWorker(service, stack.db, jobs.succeeded);
  imagePaths = [stored.path, await storeThumbnailAsApp(service, jobs.succeeded, stored)];
  // A job id sharing all but its last character with the deleted one: the prefix must not reach it.
  const id = jobs.succeeded.id;
  otherPath = `${alice}/${id.slice(0, 35)}${id.endsWith('0') ? '1' : '0'}.png`;
  const uploaded = await service.storage.from('results').upload(otherPath, new Uint8Array(drawPromptImage('other', 64, 64)), { contentType: 'image/png' });
  assert.equal(uploaded.error, null);
});
after(async () => {
  await stack?.stop();
});

describe('delete_job', () => {
  test('a queued, delayed or running job is refused with PT409 and nothing changes', async () => {
    for (const [state, message] of [
      ['queued', 'job is queued: cancel it first, then delete it'],
      ['delayed', 'job is queued: cancel it first, then delete it'],
      ['running', 'job is running: delete it once it has finished'],
    ] as const) {
      const before = await row(jobs[state].id);
      await rejects(deleteJob('alice', jobs[state].id), 'PT409', message);
      assert.deepEqual(await row(jobs[state].id), before, state);
    }
  });

  test('another user, staff, anon and the service role cannot delete alice\'s job', async () => {
    const before = await row(jobs.succeeded.id);
    await rejects(deleteJob('bob', jobs.succeeded.id), 'PT404', 'job not found');
    for (const actor of ['support', 'admin', 'anon', 'service'] as const) {
      await rejects(deleteJob(actor, jobs.succeeded.id), '42501', /permission denied/);
    }
    await rejects(deleteJob('alice', '00000000-0000-4000-8000-000000000000'), 'PT404', 'job not found');
    assert.deepEqual(await row(jobs.succeeded.id), before);
  });

  test('a succeeded job: content blanked, status and accounting kept, one audit row, its objects queued', async () => {
    const id = jobs.succeeded.id;
    const ledgerBefore = await ledger(id);
    const eventsBefore = await events(id);
    const { rows: auditBefore } = await stack.db.query('select count(*)::int as n from public.audit_log');
    let result!: Awaited<ReturnType<typeof deleteJob>>;
    // Queuing the erasure wakes the worker, as an enqueue does.
    const wakeups = await notificationsDuring({ database: { url: stack.dbUrl } }, 'job_dispatch', async () => {
      result = await deleteJob('alice', id);
    });
    assert.ok(wakeups >= 1, 'the worker is woken');
    assert.equal(result.job_id, id);
    assert.equal(result.objects_queued, 2, 'the image and its thumbnail');

    const after = await row(id);
    assert.equal(after.status, 'succeeded');
    assert.equal(after.prompt, '');
    assert.deepEqual(after.options, {});
    assert.equal(after.result, null);
    assert.equal(after.stage, 'deleted');
    assert.equal(after.credits_cost, jobs.succeeded.credits_cost);
    assert.equal(after.content_deleted_at.toISOString(), new Date(result.content_deleted_at).toISOString());
    assert.deepEqual(await ledger(id), ledgerBefore, 'the ledger is untouched');
    assert.deepEqual(await events(id), eventsBefore, 'no transition, no timeline row');

    const { rows: audit } = await stack.db.query(`select * from public.audit_log order by id desc limit 1`);
    assert.equal((await stack.db.query('select count(*)::int as n from public.audit_log')).rows[0].n, auditBefore[0].n + 1);
    assert.equal(audit[0].action, 'delete_job');
    assert.equal(audit[0].actor_id, alice);
    assert.equal(audit[0].actor_role, 'user');
    assert.deepEqual(audit[0].job_ids, [id]);
    assert.equal(audit[0].target_user_id, alice);
    assert.equal(audit[0].credits_moved, '0');

    const { rows: queued } = await stack.db.query(`select bucket_id, name from private.object_erasures order by name`);
    assert.deepEqual(queued, imagePaths.map((name) => ({ bucket_id: 'results', name })).sort((a, b) => a.name.localeCompare(b.name)));
  });

  test("the owner's topic hears it as a job_changed with stage 'deleted' and no result; staff's as a change", async () => {
    const { rows } = await stack.db.query(
      `select topic, payload from realtime.messages
        where event = 'job_changed' and payload ->> 'id' = $1 and payload ->> 'stage' = 'deleted'`,
      [jobs.succeeded.id],
    );
    assert.equal(rows.length, 1, "one message on the owner's topic");
    assert.equal(rows[0].topic, `user:${alice}:jobs`);
    assert.equal(rows[0].payload.stage, 'deleted');
    assert.equal(rows[0].payload.status, 'succeeded');
    assert.equal('result' in rows[0].payload, false, 'no result: the key is left out');
    const staff = (await adminJobsMessagesFor(stack.db, jobs.succeeded.id)).filter((m) => m.change.stage === 'deleted');
    assert.equal(staff.length, 1, "and one entry on staff's");
    assert.deepEqual([staff[0]!.change.status, staff[0]!.change.old_status], ['succeeded', 'succeeded']);
  });

  test("the worker's erasure removes exactly the job's objects through the Storage API", async () => {
    assert.equal(await eraseQueuedObjects(service, () => {}), 2);
    for (const path of imagePaths) assert.equal((await service.storage.from('results').exists(path)).data, false, `${path} erased`);
    assert.equal((await service.storage.from('results').exists(otherPath)).data, true, "another job's object stays");
  });

  test('a failed and a cancelled job are deleted too', async () => {
    for (const state of ['failed', 'cancelled'] as const) {
      const result = await deleteJob('alice', jobs[state].id);
      assert.equal(result.objects_queued, 0);
      const after = await row(jobs[state].id);
      assert.equal(after.status, state);
      assert.equal(after.prompt, '');
      assert.equal(after.error_message, null);
      assert.notEqual(after.content_deleted_at, null);
    }
  });

  test('is safe to call twice: the same deletion, nothing queued again, no second audit row', async () => {
    const first = await row(jobs.succeeded.id);
    const { rows: auditBefore } = await stack.db.query('select count(*)::int as n from public.audit_log');
    const again = await deleteJob('alice', jobs.succeeded.id);
    assert.equal(again.objects_queued, 0);
    assert.equal(new Date(again.content_deleted_at).toISOString(), first.content_deleted_at.toISOString());
    assert.deepEqual(await row(jobs.succeeded.id), first);
    assert.equal((await stack.db.query('select count(*)::int as n from public.audit_log')).rows[0].n, auditBefore[0].n);
  });

  test('staff cannot run a deleted job again: retry skips it, saying why, and charges nothing', async () => {
    const ledgerBefore = await ledger(jobs.failed.id);
    const [outcome] = await query(stack.db, 'admin', `select * from public.retry_jobs(array[$1]::uuid[], 'try again')`, [jobs.failed.id]);
    assert.deepEqual(outcome, { job_id: jobs.failed.id, outcome: 'skipped', status: 'failed', message: 'its owner deleted this job' });
    assert.equal((await row(jobs.failed.id)).status, 'failed');
    assert.deepEqual(await ledger(jobs.failed.id), ledgerBefore);
  });
});
