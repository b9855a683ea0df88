import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { type Actor, adminJobsMessagesFor, as, claim, createJob, emptyQueue, testDbForFile, query } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

/** The fields a refund test reads, with a left-out key read as its receivers read it (null, and 0 for refunded). */
const pick = (p: Record<string, unknown>) => ({
  status: p.status, old_status: p.old_status ?? null, error_class: p.error_class ?? null, refunded: p.refunded ?? 0,
});

/** A message's keys: the ones it always has, and of the others only those whose value is not null. */
function assertKeys(payload: Record<string, unknown>, always: string[], whenSet: string[]) {
  for (const key of always) assert.ok(key in payload, `${key} is always sent`);
  for (const key of Object.keys(payload)) {
    assert.ok(always.includes(key) || whenSet.includes(key), `${key} is not a key of this message`);
    assert.notEqual(payload[key], null, `${key} is left out rather than sent as null`);
  }
}

/** The owner's messages about a job, oldest first. */
async function messagesFor(jobId: string, topic: string) {
  const { rows } = await t.db.query(
    `select topic, event, private, extension, payload from realtime.messages where payload->>'id' = $1 and topic = $2
      order by inserted_at, id`,
    [jobId, topic],
  );
  return rows;
}

/** What the realtime server does on join: select from realtime.messages as the user, with the topic set. */
async function mayJoin(actor: Actor, topic: string): Promise<boolean> {
  return as(t.db, actor, async (c) => {
    await c.query(`select set_config('realtime.topic', $1, true)`, [topic]);
    const { rows } = await c.query(`select 1 from realtime.messages where topic = $1 and extension = 'broadcast' limit 1`, [topic]);
    return rows.length > 0;
  }).catch(() => false);
}

async function adminMessageCount(): Promise<number> {
  return (await t.db.query(`select count(*)::integer as n from realtime.messages where topic = 'admin:jobs'`)).rows[0].n;
}

/** Moves the job's last update two seconds back, so that its next progress is past the owner's once-a-second throttle. */
async function ageJob(id: string) {
  await t.db.query(`update public.jobs set updated_at = now() - interval '2 seconds' where id = $1`, [id]);
}

describe('realtime', () => {
  test('jobs are in the supabase_realtime publication (end users get their own rows through RLS)', async () => {
    const { rows } = await t.db.query(`select schemaname, tablename from pg_publication_tables where pubname = 'supabase_realtime'`);
    assert.ok(rows.some((r) => r.schemaname === 'public' && r.tablename === 'jobs'));
  });

  test('every change of status is broadcast to the private admin:jobs topic as a compact entry, without the user; progress is not', async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    await ageJob(running!.id);
    await query(t.db, 'service', `select public.heartbeat_job($1, $2, 55, 'rendering')`, [running!.id, running!.lease_token]);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'timeout', 'slow', false)`, [running!.id, running!.lease_token]);

    const messages = await adminJobsMessagesFor(t.db, job.id);
    assert.deepEqual(
      messages.map((m) => [m.change.old_status, m.change.status, m.change.progress, m.change.stage, m.change.error_class]),
      [
        [null, 'queued', 0, null, null],
        ['queued', 'running', 0, 'claimed', null],
        ['running', 'failed', 55, 'failed', 'timeout'],
      ],
    );
    const { rows } = await t.db.query('select attempt, updated_at from public.jobs where id = $1', [job.id]);
    for (const m of messages) {
      assert.deepEqual([m.event, m.private, m.extension], ['jobs_changed', true, 'broadcast']);
      assert.deepEqual(Object.keys(m.payload), ['jobs'], 'only the entries: no user, no prompt');
      assert.equal(m.payload.jobs.length, 1);
      assert.equal(m.payload.jobs[0]!.length, 9, '[id, model_id, status, old_status, attempt, progress, stage, error_class, updated_at]');
      assert.equal(m.change.model_id, job.model_id);
    }
    // The last entry carries the row as written: its attempt and its updated_at, to the millisecond.
    assert.equal(messages[2]!.change.attempt, rows[0].attempt);
    assert.equal(Date.parse(messages[2]!.change.updated_at), Math.floor((rows[0].updated_at as Date).getTime()));
  });

  test("every job change also reaches the owner's private user:<id>:jobs topic, with what the pages show and nothing else", async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    await ageJob(running!.id);
    await query(t.db, 'service', `select public.heartbeat_job($1, $2, 40, 'rendering')`, [running!.id, running!.lease_token]);
    // Less than a second after the previous one: progress is throttled, no message.
    await query(t.db, 'service', `select public.heartbeat_job($1, $2, 45, 'still rendering')`, [running!.id, running!.lease_token]);
    await query(t.db, 'service', `select public.complete_job($1, $2, $3)`, [
      running!.id,
      running!.lease_token,
      JSON.stringify({
        bucket: 'results', path: `${job.user_id}/${job.id}.png`, width: 1024, height: 768, bytes: 9, mimeType: 'image/png',
        thumbnail_path: `${job.user_id}/${job.id}.thumb.jpg`, thumbnail_width: 256, thumbnail_height: 192,
      }),
    ]);
    const messages = await messagesFor(job.id, `user:${DEMO_USERS.alice.id}:jobs`);
    assert.deepEqual(
      messages.map((m) => [m.payload.old_status, m.payload.status, m.payload.progress, m.payload.stage, m.payload.attempt]),
      [
        [undefined, 'queued', 0, undefined, 0],
        ['queued', 'running', 0, 'claimed', 1],
        ['running', 'running', 40, 'rendering', 1],
        ['running', 'succeeded', 100, 'done', 1],
      ],
    );
    for (const m of messages) {
      assert.deepEqual([m.event, m.private, m.extension], ['job_changed', true, 'broadcast']);
      assertKeys(m.payload, ['attempt', 'id', 'progress', 'status', 'updated_at'], ['error_class', 'old_status', 'refunded', 'result', 'stage']);
      assert.equal(m.payload.refunded, undefined, 'nothing refunded: the key is left out');
    }
    assert.equal(messages[2]!.payload.result, undefined);
    // The result as the job row holds it (one shape: supabase/functions/_shared/job-result.ts, jobs_result_shape).
    assert.deepEqual(messages[3]!.payload.result, {
      bucket: 'results', path: `${job.user_id}/${job.id}.png`, width: 1024, height: 768, bytes: 9, mimeType: 'image/png',
      thumbnail_path: `${job.user_id}/${job.id}.thumb.jpg`, thumbnail_width: 256, thumbnail_height: 192,
    });
    const bobs = await t.db.query(`select count(*)::integer as n from realtime.messages where topic = $1`, [`user:${DEMO_USERS.bob.id}:jobs`]);
    assert.equal(bobs.rows[0].n, 0, "nothing of alice's reaches bob's topic");
  });

  test('a failure that ends the job carries the refund, from every path that refunds', async () => {
    const topic = `user:${DEMO_USERS.alice.id}:jobs`;
    const last = async (id: string) => (await messagesFor(id, topic)).at(-1)!.payload;
    await emptyQueue(t.db);

    const failed = await createJob(t.db);
    const [running] = await claim(t.db);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'timeout', 'slow', false)`, [running!.id, running!.lease_token]);
    assert.deepEqual(pick(await last(failed.id)), { status: 'failed', old_status: 'running', error_class: 'timeout', refunded: failed.credits_cost });

    const retried = await createJob(t.db);
    const [again] = await claim(t.db);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'server_error', '503', true)`, [again!.id, again!.lease_token]);
    assert.deepEqual(pick(await last(retried.id)), { status: 'queued', old_status: 'running', error_class: 'server_error', refunded: 0 }, 'a retry refunds nothing');

    const cancelled = await createJob(t.db);
    await query(t.db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'changed my mind')`, [cancelled.id]);
    assert.deepEqual(pick(await last(cancelled.id)), { status: 'cancelled', old_status: 'queued', error_class: null, refunded: cancelled.credits_cost });

    const staff = await createJob(t.db);
    await query(t.db, 'support', `select * from public.fail_and_refund_jobs(array[$1]::uuid[], 'stuck')`, [staff.id]);
    assert.deepEqual(pick(await last(staff.id)), { status: 'failed', old_status: 'queued', error_class: 'failed_by_staff', refunded: staff.credits_cost });

    const late = await createJob(t.db);
    await t.db.query(`update public.jobs set deadline_at = now() - interval '1 second' where id = $1`, [late.id]);
    await query(t.db, 'service', `select public.reap_expired_jobs()`);
    assert.deepEqual(pick(await last(late.id)), { status: 'failed', old_status: 'queued', error_class: 'deadline_exceeded', refunded: late.credits_cost });

    // Retrying re-charges: the job is no longer refunded.
    await query(t.db, 'admin', `select * from public.retry_jobs(array[$1]::uuid[], 'try again')`, [staff.id]);
    assert.deepEqual(pick(await last(staff.id)), { status: 'queued', old_status: 'failed', error_class: null, refunded: 0 });
  });

  test("a grant sends credits_changed with the new balance to the user's topic; charges and refunds do not", async () => {
    const topic = `user:${DEMO_USERS.bob.id}:jobs`;
    const credits = async () =>
      (await t.db.query(`select payload from realtime.messages where topic = $1 and event = 'credits_changed' order by inserted_at, id`, [topic])).rows.map(
        (r) => r.payload,
      );
    const before = (await credits()).length;
    const job = await createJob(t.db, 'bob');
    await query(t.db, 'bob', `select * from public.cancel_jobs(array[$1]::uuid[], 'no')`, [job.id]);
    assert.equal((await credits()).length, before, 'the job_changed messages tell of the charge and the refund');
    await query(t.db, 'support', `select public.grant_credits($1, 7, 'sorry')`, [DEMO_USERS.bob.id]);
    const balance = Number((await t.db.query(`select balance from public.credit_accounts where user_id = $1`, [DEMO_USERS.bob.id])).rows[0].balance);
    const sent = await credits();
    assert.equal(sent.length, before + 1);
    assert.deepEqual(sent.at(-1), { balance });
    const row = await t.db.query(`select private, extension from realtime.messages where topic = $1 and event = 'credits_changed' limit 1`, [topic]);
    assert.deepEqual(row.rows[0], { private: true, extension: 'broadcast' });
  });

  test('a claim of many jobs writes one admin:jobs message carrying every change, and one owner message per job', async () => {
    await emptyQueue(t.db);
    const ids = [(await createJob(t.db)).id, (await createJob(t.db)).id, (await createJob(t.db)).id];
    const before = await adminMessageCount();
    await claim(t.db, 3);
    assert.equal(await adminMessageCount(), before + 1, 'one message for the statement');
    const claimed = await Promise.all(ids.map(async (id) => (await adminJobsMessagesFor(t.db, id)).filter((m) => m.change.status === 'running')));
    for (const messages of claimed) assert.equal(messages.length, 1);
    assert.equal(new Set(claimed.map((m) => JSON.stringify(m[0]!.payload))).size, 1, 'the same message for all three');
    assert.deepEqual(claimed[0]![0]!.payload.jobs.map((entry) => entry[0]).sort(), [...ids].sort());
    for (const id of ids) {
      assert.equal((await messagesFor(id, `user:${DEMO_USERS.alice.id}:jobs`)).filter((m) => m.payload.status === 'running').length, 1);
    }
  });

  test('a completion of many jobs writes one admin:jobs message', async () => {
    await emptyQueue(t.db);
    for (let i = 0; i < 3; i++) await createJob(t.db);
    const jobs = await claim(t.db, 3);
    const before = await adminMessageCount();
    const outcomes = await query(t.db, 'service', 'select * from public.complete_jobs($1::uuid[], $2::uuid[])', [
      jobs.map((j) => j.id),
      jobs.map((j) => j.lease_token),
    ]);
    assert.deepEqual(outcomes.map((o) => o.outcome), ['succeeded', 'succeeded', 'succeeded']);
    assert.equal(await adminMessageCount(), before + 1);
    for (const job of jobs) {
      const [done] = (await adminJobsMessagesFor(t.db, job.id)).filter((m) => m.change.status === 'succeeded');
      assert.deepEqual([done!.change.old_status, done!.change.progress, done!.change.stage], ['running', 100, 'done']);
    }
  });

  test('a statement that changes more than 200 jobs splits its admin:jobs entries over messages of at most 200', async () => {
    const before = await adminMessageCount();
    await t.db.query(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, 'gemini-2.5-flash-image', 'bulk ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, 450) g`,
      [DEMO_USERS.bob.id],
    );
    assert.equal(await adminMessageCount(), before + 3);
    const { rows } = await t.db.query(
      `select jsonb_array_length(payload -> 'jobs') as n from realtime.messages where topic = 'admin:jobs' order by n desc limit 3`,
    );
    assert.deepEqual(rows.map((r) => r.n), [200, 200, 50]);
    await emptyQueue(t.db);
  });

  test('only support and admin may join admin:jobs', async () => {
    await createJob(t.db);
    const joined: Record<string, boolean> = {};
    for (const actor of ['anon', 'alice', 'bob', 'support', 'admin'] as Actor[]) joined[actor] = await mayJoin(actor, 'admin:jobs');
    assert.deepEqual(joined, { anon: false, alice: false, bob: false, support: true, admin: true });
  });

  test('the policy does not open other topics to staff', async () => {
    await t.db.query(`select realtime.send('{"x": 1}', 'other', 'user:secret', true)`);
    assert.equal(await mayJoin('admin', 'user:secret'), false);
  });

  test('a failing broadcast does not fail the job transition: the timeline is still written, illegal transitions still refused', async () => {
    await emptyQueue(t.db);
    const job = await createJob(t.db);
    const client = await t.db.connect();
    const warnings: string[] = [];
    const onNotice = (n: { severity?: string; message?: string }) => {
      if (n.severity === 'WARNING') warnings.push(n.message ?? '');
    };
    client.on('notice', onNotice);
    try {
      await client.query('begin');
      // Make every insert into realtime.messages fail, as a missing partition would on a hosted project.
      await client.query(`alter table realtime.messages add constraint no_broadcasts check (false) not valid`);
      await client.query(`select set_config('request.jwt.claims', '{"role": "service_role"}', true)`);
      const { rows } = await client.query('select * from public.claim_jobs($1, 1)', ['w']);
      assert.equal(rows[0].id, job.id);
      assert.equal(rows[0].status, 'running');
      // realtime.messages is partitioned by day: the row is refused by today's partition.
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /^job broadcast failed: new row for relation "messages_\d{4}_\d{2}_\d{2}" violates check constraint "no_broadcasts"$/);
      // The timeline is still written, and nothing was broadcast.
      const events = await client.query(`select from_status, to_status, actor_role from public.job_events where job_id = $1 order by id`, [job.id]);
      assert.deepEqual(events.rows.at(-1), { from_status: 'queued', to_status: 'running', actor_role: 'worker' });
      const sent = await client.query(`select count(*)::integer as n from realtime.messages where payload->>'id' = $1 and payload->>'status' = 'running'`, [job.id]);
      assert.equal(sent.rows[0].n, 0);
      assert.deepEqual((await adminJobsMessagesFor(client, job.id)).map((m) => m.change.status), ['queued']);
      // An illegal transition is still refused when the broadcast fails.
      await client.query('savepoint illegal');
      await client.query(`update public.jobs set status = 'succeeded', lease_token = null, lease_expires_at = null where id = $1`, [job.id]);
      await assert.rejects(
        client.query(
          `update public.jobs set status = 'running', lease_token = extensions.gen_random_uuid(), lease_expires_at = now() + interval '1 minute' where id = $1`,
          [job.id],
        ),
        (error: { code?: string; message?: string }) => error.code === '23514' && error.message === 'illegal job transition: succeeded -> running',
      );
      await client.query('rollback to savepoint illegal');
      // complete_job, which writes its own timeline row and broadcast, falls back to the same
      // path: the job completes, the timeline is written, one more warning, nothing broadcast.
      const done = await client.query('select public.complete_job($1, $2) as r', [job.id, rows[0].lease_token]);
      assert.deepEqual(done.rows[0].r, { outcome: 'succeeded', status: 'succeeded' });
      const completed = await client.query(`select from_status, to_status, actor_role from public.job_events where job_id = $1 order by id`, [job.id]);
      assert.deepEqual(completed.rows.slice(-2), [
        { from_status: 'queued', to_status: 'running', actor_role: 'worker' },
        { from_status: 'running', to_status: 'succeeded', actor_role: 'worker' },
      ]);
      // One warning each: the claim, the superuser's update rolled back above, the completion.
      assert.deepEqual(warnings, Array(3).fill(warnings[0]));
      const sentDone = await client.query(`select count(*)::integer as n from realtime.messages where payload->>'id' = $1`, [job.id]);
      assert.equal(sentDone.rows[0].n, 1, "only the owner's message from before broadcasts failed (the job was created)");
      assert.deepEqual((await adminJobsMessagesFor(client, job.id)).map((m) => m.change.status), ['queued'], "and staff's");
    } finally {
      client.off('notice', onNotice);
      await client.query('rollback');
      client.release();
    }
  });
});
