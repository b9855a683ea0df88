import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adminJobsMessagesFor, claim, createJob, emptyQueue, getJob, jobsInEveryState, testDbForFile, query, rejects, statuses } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

async function complete(id: string, token: string | null, result: object = { bucket: 'results', path: 'owner/x.png' }) {
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
    assert.deepEqual((done as unknown as { result: unknown }).result, { bucket: 'results', path: 'owner/x.png' });
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

  test('writes the same timeline row and broadcasts as any other update of the job would', async () => {
    // complete_job writes its own event and messages in the statement that completes the job; a
    // superuser's plain UPDATE of another job, as the worker, goes through the jobs trigger. The
    // two must not differ in anything but the job.
    await emptyQueue(t.db);
    const [a, b] = [await createJob(t.db), await createJob(t.db)];
    const claimed = await claim(t.db, 2);
    const byId = Object.fromEntries(claimed.map((j) => [j.id, j]));
    // The same result for both, so that the owner's payloads can be compared whole.
    const result = { bucket: 'results', path: 'same.png', width: 8, height: 8, thumbnail_path: 'same.thumb.jpg', thumbnail_width: 8, thumbnail_height: 8 };
    await complete(a.id, byId[a.id]!.lease_token, result);
    const client = await t.db.connect();
    try {
      await client.query('begin');
      await client.query(`select private.set_actor('worker')`);
      await client.query(
        `update public.jobs set status = 'succeeded', result = $2, progress = 100, stage = 'done',
                lease_token = null, lease_expires_at = null, finished_at = now(), updated_at = now() where id = $1`,
        [b.id, JSON.stringify(result)],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    const last = async (id: string) => {
      const event = await t.db.query(
        `select from_status, to_status, attempt, actor_id, actor_role, detail, model_id, user_id from public.job_events where job_id = $1 order by id desc limit 1`,
        [id],
      );
      const message = async (topic: string) =>
        (
          await t.db.query(
            `select event, private, extension, payload - 'id' - 'updated_at' as payload, payload->>'updated_at' as updated_at
               from realtime.messages where payload->>'id' = $1 and topic = $2 order by inserted_at desc, id desc limit 1`,
            [id, topic],
          )
        ).rows[0];
      const job = await getJob(t.db, id);
      return {
        event: event.rows[0],
        message: (await adminJobsMessagesFor(t.db, id)).at(-1)!,
        owner: await message(`user:${job.user_id}:jobs`),
        updated_at: job.updated_at,
      };
    };
    const [own, generic] = [await last(a.id), await last(b.id)];
    assert.deepEqual(own.event, generic.event);
    assert.deepEqual(own.event, {
      from_status: 'running', to_status: 'succeeded', attempt: 1, actor_id: null, actor_role: 'worker', detail: {},
      model_id: a.model_id, user_id: a.user_id,
    });
    // Staff's message: the same entry on both paths but for the job and the time.
    const entry = (m: typeof own.message) => ({ ...m, payload: undefined, change: { ...m.change, id: undefined, updated_at: undefined } });
    assert.deepEqual(entry(own.message), entry(generic.message));
    assert.equal(own.message.change.status, 'succeeded');
    assert.equal(own.message.change.old_status, 'running');
    assert.equal(Date.parse(own.message.change.updated_at), Math.floor((own.updated_at as Date).getTime()), 'the entry carries the row as written');
    // The owner's message: the same on both paths, and it carries the result.
    assert.deepEqual({ ...own.owner, updated_at: undefined }, { ...generic.owner, updated_at: undefined });
    // No error and nothing refunded: those keys are left out (the pages read them as null and 0).
    assert.deepEqual(own.owner.payload, { status: 'succeeded', old_status: 'running', stage: 'done', progress: 100, attempt: 1, result });
    assert.equal(Date.parse(own.owner.updated_at), Date.parse(own.message.change.updated_at));
  });

  test("the owner's message carries the result as stored: with its thumbnail, and without one", async () => {
    await emptyQueue(t.db);
    const [a, b] = [await createJob(t.db), await createJob(t.db)];
    const byId = Object.fromEntries((await claim(t.db, 2)).map((j) => [j.id, j]));
    const image = { bucket: 'results', path: `${a.user_id}/${a.id}.png`, width: 336, height: 192, mimeType: 'image/png', bytes: 900 };
    const thumbnail = { thumbnail_path: `${a.user_id}/${a.id}.thumb.jpg`, thumbnail_width: 256, thumbnail_height: 146 };
    await complete(a.id, byId[a.id]!.lease_token, { ...image, ...thumbnail });
    // A worker whose thumbnail failed sends the keys as null; an older result has none at all.
    await complete(b.id, byId[b.id]!.lease_token, { ...image, path: `${b.user_id}/${b.id}.png` });
    const owner = async (id: string) =>
      (
        await t.db.query(`select payload -> 'result' as result from realtime.messages
                       where payload->>'id' = $1 and payload->>'status' = 'succeeded' and topic like 'user:%'`, [id])
      ).rows[0].result;
    assert.deepEqual((await getJob(t.db, a.id) as unknown as { result: unknown }).result, { ...image, ...thumbnail }, 'stored as the worker sent it');
    assert.deepEqual(await owner(a.id), { ...image, ...thumbnail }, "the owner's message carries it as stored");
    assert.deepEqual(await owner(b.id), { ...image, path: `${b.user_id}/${b.id}.png` });
  });

  test('stands the jobs trigger down for its own statement only: later updates in the transaction write their events', async () => {
    await emptyQueue(t.db);
    const [a, b] = [await createJob(t.db), await createJob(t.db)];
    const client = await t.db.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', '{"role": "service_role"}', true)`);
      const { rows } = await client.query(`select id, lease_token from public.claim_jobs('w', 1)`);
      await client.query('select public.complete_job($1, $2)', [rows[0].id, rows[0].lease_token]);
      const flag = await client.query(`select current_setting('jobhealth.events_written', true) as v`);
      assert.equal(flag.rows[0].v, '', 'the mark is cleared as soon as the completing statement is done');
      // The next claim in the same transaction is an ordinary update: the trigger writes its event.
      const next = await client.query(`select id from public.claim_jobs('w', 1)`);
      await client.query('commit');
      const events = await t.db.query(
        `select job_id, from_status, to_status from public.job_events where job_id = any($1) and from_status is not null order by id`,
        [[a.id, b.id]],
      );
      assert.deepEqual(
        events.rows.map((e) => [e.job_id, e.from_status, e.to_status]),
        [
          [rows[0].id, 'queued', 'running'],
          [rows[0].id, 'running', 'succeeded'],
          [next.rows[0].id, 'queued', 'running'],
        ],
      );
    } finally {
      client.release();
    }
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
