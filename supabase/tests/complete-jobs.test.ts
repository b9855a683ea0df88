import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adminJobsMessagesFor, claim, createJob, emptyQueue, getJob, jobsInEveryState, query, rejects, statuses, testDbForFile } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

type Row = { job_id: string; outcome: string; status: string | null };
const completeJobs = (ids: (string | null)[], tokens: (string | null)[], results: unknown = null) =>
  query<Row>(t.db, 'service', 'select * from public.complete_jobs($1::uuid[], $2::uuid[], $3)', [
    ids,
    tokens,
    results === null ? null : JSON.stringify(results),
  ]);
const count = async (sql: string, params: unknown[] = []) => (await t.db.query<{ n: number }>(sql, params)).rows[0]!.n;
const image = (path: string) => ({ bucket: 'results', path, width: 8, height: 8, mimeType: 'image/png', bytes: 90 });

describe('complete_jobs', () => {
  test('completes every job still held under its token in one call, each with its own result', async () => {
    await emptyQueue(t.db);
    const made = [await createJob(t.db), await createJob(t.db), await createJob(t.db)];
    const held = await claim(t.db, 3);
    assert.equal(held.length, 3);
    const eventsBefore = await count(`select count(*)::integer as n from public.job_events`);
    const messagesBefore = await count(`select count(*)::integer as n from realtime.messages`);
    const rows = await completeJobs(
      held.map((j) => j.id),
      held.map((j) => j.lease_token),
      [image('a.png'), null, image('c.png')],
    );
    assert.deepEqual(rows, held.map((j) => ({ job_id: j.id, outcome: 'succeeded', status: 'succeeded' })), 'one row per pair, in the order given');
    const done = await Promise.all(held.map((j) => getJob(t.db, j.id)));
    assert.deepEqual(done.map((j) => [j.status, j.progress, j.stage, j.lease_token]), held.map(() => ['succeeded', 100, 'done', null]));
    assert.deepEqual(done.map((j) => (j as unknown as { result: unknown }).result), [image('a.png'), null, image('c.png')]);
    // Each job: one timeline row and its owner's message; staff's one message carries all three.
    assert.equal(await count(`select count(*)::integer as n from public.job_events`) - eventsBefore, 3);
    assert.equal(await count(`select count(*)::integer as n from realtime.messages`) - messagesBefore, 4);
    for (const job of made) {
      assert.equal(
        await count(`select count(*)::integer as n from public.job_events where job_id = $1 and from_status = 'running' and to_status = 'succeeded' and actor_role = 'worker'`, [job.id]),
        1,
      );
      assert.equal(
        await count(`select count(*)::integer as n from realtime.messages where payload->>'id' = $1 and payload->>'status' = 'succeeded'`, [job.id]),
        1,
        'the owner',
      );
      const staff = (await adminJobsMessagesFor(t.db, job.id)).filter((m) => m.change.status === 'succeeded');
      assert.deepEqual(staff.map((m) => m.payload.jobs.length), [3], 'admin:jobs: one message for the three');
    }
  });

  test('one job: its row from the inputs, its result, its timeline row and two messages', async () => {
    // One job's reply is built without a query (the usual case, the worker one job at a time).
    await emptyQueue(t.db);
    await createJob(t.db);
    const [held] = await claim(t.db);
    const eventsBefore = await count(`select count(*)::integer as n from public.job_events`);
    const messagesBefore = await count(`select count(*)::integer as n from realtime.messages`);
    assert.deepEqual(await completeJobs([held!.id], [held!.lease_token], [image('one.png')]), [
      { job_id: held!.id, outcome: 'succeeded', status: 'succeeded' },
    ]);
    const done = await getJob(t.db, held!.id);
    assert.deepEqual([done.status, done.lease_token, (done as unknown as { result: unknown }).result], ['succeeded', null, image('one.png')]);
    assert.equal(await count(`select count(*)::integer as n from public.job_events`) - eventsBefore, 1);
    assert.equal(await count(`select count(*)::integer as n from realtime.messages`) - messagesBefore, 2, "the owner's and staff's");
    // The same pair again is fenced, its status read from the job.
    assert.deepEqual(await completeJobs([held!.id], [held!.lease_token]), [{ job_id: held!.id, outcome: 'fenced', status: 'succeeded' }]);
  });

  test('fences each pair on its own: only the job held under its token changes', async () => {
    const jobs = await jobsInEveryState(t.db);
    const ids = Object.values(jobs).map((j) => j.id);
    const before = await statuses(t.db, ids);
    await emptyQueue(t.db);
    await createJob(t.db);
    const [held] = await claim(t.db);
    const after = await statuses(t.db, ids);
    const eventsBefore = await count(`select count(*)::integer as n from public.job_events`);
    // Every fixture job with the token it holds (none but the running one holds any, and that one
    // was taken out of the way by emptyQueue), an unknown job, a null id, and the one really held.
    const pairs: [string | null, string | null][] = [
      ...Object.values(jobs).map((j): [string, string | null] => [j.id, j.lease_token]),
      [UNKNOWN, UNKNOWN],
      [null, null],
      [held!.id, held!.lease_token],
    ];
    const rows = await completeJobs(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
    assert.deepEqual(rows, [
      ...ids.map((id) => ({ job_id: id, outcome: 'fenced', status: after[id] })),
      { job_id: UNKNOWN, outcome: 'fenced', status: null },
      { job_id: null, outcome: 'fenced', status: null },
      { job_id: held!.id, outcome: 'succeeded', status: 'succeeded' },
    ]);
    assert.deepEqual(await statuses(t.db, ids), after, 'no fenced job changed');
    assert.notDeepEqual(before, after, 'the running fixture job had been taken out of the way');
    assert.equal(await count(`select count(*)::integer as n from public.job_events`) - eventsBefore, 1);
  });

  test('completing twice: the second call is fenced for every job (safe to retry)', async () => {
    await emptyQueue(t.db);
    await createJob(t.db);
    await createJob(t.db);
    const held = await claim(t.db, 2);
    const args = [held.map((j) => j.id), held.map((j) => j.lease_token)] as const;
    assert.deepEqual((await completeJobs(...args)).map((r) => r.outcome), ['succeeded', 'succeeded']);
    assert.deepEqual(await completeJobs(...args), held.map((j) => ({ job_id: j.id, outcome: 'fenced', status: 'succeeded' })));
  });

  test('bad input is refused and changes nothing', async () => {
    await emptyQueue(t.db);
    await createJob(t.db);
    const [held] = await claim(t.db);
    await rejects(completeJobs([], []), '22023', 'job ids must be a list of 1 to 500 ids');
    await rejects(completeJobs(Array.from({ length: 501 }, () => UNKNOWN), Array.from({ length: 501 }, () => UNKNOWN)), '22023', 'job ids must be a list of 1 to 500 ids');
    await rejects(completeJobs([held!.id], []), '22023', 'lease tokens must be as many as the job ids');
    await rejects(completeJobs([held!.id, held!.id], [held!.lease_token, held!.lease_token]), '22023', 'a job is listed more than once');
    await rejects(completeJobs([held!.id], [held!.lease_token], [null, null]), '22023', 'results must be null or an array as long as the job ids');
    await rejects(completeJobs([held!.id], [held!.lease_token], { path: 'x' }), '22023', 'results must be null or an array as long as the job ids');
    assert.equal((await getJob(t.db, held!.id)).status, 'running');
  });

  test('only the service role may complete', async () => {
    await emptyQueue(t.db);
    await createJob(t.db);
    const [held] = await claim(t.db);
    for (const actor of ['anon', 'alice', 'support', 'admin'] as const) {
      await rejects(
        query(t.db, actor, 'select * from public.complete_jobs($1::uuid[], $2::uuid[])', [[held!.id], [held!.lease_token]]),
        '42501',
        'permission denied for function complete_jobs',
      );
    }
    assert.equal((await getJob(t.db, held!.id)).status, 'running');
  });
});
