import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { eraseQueuedObjects } from '../functions/job-worker/object-erasure.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { claim, createJob, moveJobsBack, query, rejects } from '../../testkit/database/fixtures.ts';
import { storeResultAsWorker, storeThumbnailAsApp } from '../../testkit/http/stored-result.ts';

// The result images' retention window (20261208276100_result_image_expiry.sql): off by default,
// and when an admin sets it, the pass expires exactly the images of jobs that finished longer ago,
// through the erasure queue the worker empties with the Storage API. The job row, its ledger,
// timeline and audit stay. Against a gateway, so Storage is the real API.
let stack: TestStack;
let service: DatabaseClient;

/** A succeeded job of alice's with its image and thumbnail in Storage, finished `daysAgo` days ago. */
async function succeededWithImage(daysAgo: number): Promise<{ id: string; paths: string[] }> {
  const created = await createJob(stack.db, 'alice');
  const [claimed] = await claim(stack.db);
  assert.equal(claimed?.id, created.id, 'the fixture claims its own job');
  await query(stack.db, 'service', 'select public.complete_job($1, $2)', [claimed.id, claimed.lease_token]);
  const stored = await storeResultAsWorker(service, stack.db, created);
  await moveJobsBack(stack.db, [created.id], daysAgo);
  return { id: created.id, paths: [stored.path, await storeThumbnailAsApp(service, created, stored)] };
}

/** Whether Storage still has the object (storage-js answers false, with a not-found error, when not). */
const exists = async (path: string): Promise<boolean> => (await service.storage.from('results').exists(path)).data;

type PassResult = { kinds: Record<string, { rows?: number; objects?: number; off?: boolean }> };
async function prune(batch = 5000, maxRows = 200_000): Promise<PassResult> {
  const [row] = await query<{ r: PassResult }>(stack.db, 'service', 'select public.prune_expired_data($1, $2) as r', [batch, maxRows]);
  return row!.r;
}

async function jobRow(id: string) {
  const { rows } = await stack.db.query(
    `select status, prompt, result, image_expired_at, content_deleted_at, credits_cost from public.jobs where id = $1`,
    [id],
  );
  return rows[0];
}

/** What stays of a job whatever happens to its image: the ledger and the timeline. */
async function records(id: string) {
  const ledger = await stack.db.query(`select id, reason, delta from public.credit_ledger where job_id = $1 order by id`, [id]);
  const events = await stack.db.query(`select id, to_status from public.job_events where job_id = $1 order by id`, [id]);
  return { ledger: ledger.rows, events: events.rows };
}

const setWindow = (actor: 'admin' | 'support' | 'alice' | 'anon' | 'service', days: number | null, reason = 'disk budget') =>
  query<{ keep_days: number | null }>(stack.db, actor, `select * from public.set_retention_window('result_images', $1, $2)`, [days, reason]);

before(async () => {
  stack = await startTestStack();
  service = createTestClient(stack, stack.secretKey);
});
after(async () => {
  await stack?.stop();
});

describe('expiring result images', () => {
  let old: { id: string; paths: string[] };
  let recent: { id: string; paths: string[] };

  before(async () => {
    old = await succeededWithImage(40);
    recent = await succeededWithImage(20);
  });

  test('off by default: a pass removes no image, however old', async () => {
    const { rows } = await stack.db.query(`select keep_days, default_days from public.retention_policies where kind = 'result_images'`);
    assert.deepEqual(rows, [{ keep_days: null, default_days: null }]);

    const pass = await prune();
    assert.deepEqual(pass.kinds.result_images, { off: true });
    const queued = await stack.db.query(`select 1 from private.object_erasures`);
    assert.equal(queued.rowCount, 0, 'nothing queued for erasure');
    for (const job of [old, recent]) {
      assert.equal((await jobRow(job.id)).image_expired_at, null);
      for (const path of job.paths) assert.equal(await exists(path), true, `${path} kept`);
    }
  });

  test('only admins change the window, with a reason, within 7 to 3,650 days or off', async () => {
    for (const actor of ['support', 'alice', 'anon', 'service'] as const) {
      await rejects(setWindow(actor, 30), '42501', /permission denied/);
    }
    await rejects(setWindow('admin', 3), '22023', 'Result images (and thumbnails) must be kept between 7 and 3650 days (asked: 3 days)');
    await rejects(setWindow('admin', 4000), '22023', /between 7 and 3650 days \(asked: 4000 days\)/);
    await rejects(setWindow('admin', 30, ' '), '22023', /reason/);
    // Only a window that may be off takes null: the timelines' refuses it with its bounds.
    await rejects(
      query(stack.db, 'admin', `select * from public.set_retention_window('job_events', null, 'r')`),
      '22023',
      'Job timelines must be kept between 7 and 365 days (asked: no value days)',
    );
    const { rows } = await stack.db.query(`select keep_days from public.retention_policies where kind in ('result_images', 'job_events') order by kind`);
    assert.deepEqual(rows, [{ keep_days: 21 }, { keep_days: null }], 'refused changes change nothing');
    const audit = await stack.db.query(`select 1 from public.audit_log where action = 'set_retention_window'`);
    assert.equal(audit.rowCount, 0);
  });

  test('on: exactly the older images go, through the Storage API; the jobs stay and say when', async () => {
    const [policy] = await setWindow('admin', 30, 'images are the largest thing we keep');
    assert.equal(policy!.keep_days, 30);
    const audit = await stack.db.query(
      `select actor_role, reason, before, after, detail from public.audit_log where action = 'set_retention_window'`,
    );
    assert.deepEqual(audit.rows, [
      { actor_role: 'admin', reason: 'images are the largest thing we keep', before: { keep_days: null }, after: { keep_days: 30 }, detail: { kind: 'result_images' } },
    ]);

    const oldBefore = await jobRow(old.id);
    const oldRecords = await records(old.id);
    const recentBefore = await jobRow(recent.id);
    const messages = Number((await stack.db.query(`select count(*) as n from realtime.messages`)).rows[0].n);

    const pass = await prune();
    assert.deepEqual([pass.kinds.result_images?.rows, pass.kinds.result_images?.objects], [1, 2], 'one job: its image and thumbnail');
    const queued = await stack.db.query<{ name: string }>(`select name from private.object_erasures order by name`);
    assert.deepEqual(queued.rows.map((r) => r.name), [...old.paths].sort());

    const expired = await jobRow(old.id);
    assert.notEqual(expired.image_expired_at, null);
    assert.deepEqual(
      { ...expired, image_expired_at: null },
      { ...oldBefore, result: null },
      'the row stays (status, prompt, cost), its result points at nothing',
    );
    assert.deepEqual(await records(old.id), oldRecords, 'ledger and timeline untouched');
    assert.deepEqual(await jobRow(recent.id), recentBefore, 'a newer job keeps its image');
    const after = Number((await stack.db.query(`select count(*) as n from realtime.messages`)).rows[0].n);
    assert.equal(after, messages, 'an expiry sends no live message');

    // The worker empties the queue through Storage: the old job's objects are gone, the newer's stay.
    assert.equal(await eraseQueuedObjects(service, () => {}), 2);
    for (const path of old.paths) assert.equal(await exists(path), false, `${path} erased`);
    for (const path of recent.paths) assert.equal(await exists(path), true, `${path} kept`);

    // A second pass finds nothing more: an expired job is expired once.
    assert.deepEqual([(await prune()).kinds.result_images?.rows], [0]);
    assert.equal((await stack.db.query(`select 1 from private.object_erasures`)).rowCount, 0);
  });

  test('an expired job can still be generated again, from its kept prompt', async () => {
    const [again] = await query<{ id: string; prompt: string; status: string }>(stack.db, 'alice', 'select * from public.generate_again($1)', [old.id]);
    assert.equal(again!.status, 'queued');
    assert.equal(again!.prompt, (await jobRow(old.id)).prompt);
    await query(stack.db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'test done')`, [again!.id]);
  });

  test('a backlog is worked off in bounded passes, oldest first', async () => {
    const backlog = [await succeededWithImage(50), await succeededWithImage(45), await succeededWithImage(35)];
    // Batches of one, at most two jobs a pass: the two oldest, then the third.
    const first = await prune(1, 2);
    assert.equal(first.kinds.result_images?.rows, 2);
    const expiredAfterFirst = await Promise.all(backlog.map(async (j) => (await jobRow(j.id)).image_expired_at !== null));
    assert.deepEqual(expiredAfterFirst, [true, true, false]);
    assert.equal((await prune(1, 2)).kinds.result_images?.rows, 1);
    assert.equal((await jobRow(backlog[2]!.id)).image_expired_at !== null, true);
    assert.equal(await eraseQueuedObjects(service, () => {}), 6);
    for (const job of backlog) for (const path of job.paths) assert.equal(await exists(path), false, `${path} erased`);
    assert.equal((await jobRow(recent.id)).image_expired_at, null, 'the newer job is still kept');
  });

  test('turned off again, nothing more expires; the expired jobs stay expired', async () => {
    const [policy] = await setWindow('admin', null, 'keep images for ever again');
    assert.equal(policy!.keep_days, null);
    await moveJobsBack(stack.db, [recent.id], 30);
    assert.deepEqual((await prune()).kinds.result_images, { off: true });
    assert.equal((await jobRow(recent.id)).image_expired_at, null);
    for (const path of recent.paths) assert.equal(await exists(path), true);
    assert.notEqual((await jobRow(old.id)).image_expired_at, null);
    const { rows } = await stack.db.query(`select after from public.audit_log where action = 'set_retention_window' order by id desc limit 1`);
    assert.deepEqual(rows[0].after, { keep_days: null });
    assert.equal(DEMO_USERS.alice.id, (await stack.db.query(`select user_id from public.jobs where id = $1`, [old.id])).rows[0].user_id);
  });
});
