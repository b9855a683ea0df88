import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from './support/database.ts';
import { type Actor, as, claim, createJob, emptyQueue, testDbForFile, query } from './support/fixtures.ts';

const t = testDbForFile();

async function messagesFor(jobId: string) {
  const { rows } = await t.db.query(
    `select topic, event, private, extension, payload from realtime.messages where payload->>'id' = $1 order by inserted_at, id`,
    [jobId],
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

describe('realtime', () => {
  test('jobs are in the supabase_realtime publication (end users get their own rows through RLS)', async () => {
    const { rows } = await t.db.query(`select schemaname, tablename from pg_publication_tables where pubname = 'supabase_realtime'`);
    assert.ok(rows.some((r) => r.schemaname === 'public' && r.tablename === 'jobs'));
  });

  test('every job change is broadcast to the private admin:jobs topic as a compact job_changed payload', async () => {
    const job = await createJob(t.db);
    const [running] = await claim(t.db);
    await query(t.db, 'service', `select public.heartbeat_job($1, $2, 55, 'rendering')`, [running!.id, running!.lease_token]);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'timeout', 'slow', false)`, [running!.id, running!.lease_token]);

    const messages = await messagesFor(job.id);
    assert.deepEqual(
      messages.map((m) => [m.payload.old_status, m.payload.status, m.payload.progress]),
      [
        [null, 'queued', 0],
        ['queued', 'running', 0],
        ['running', 'running', 55],
        ['running', 'failed', 55],
      ],
    );
    for (const m of messages) {
      assert.equal(m.topic, 'admin:jobs');
      assert.equal(m.event, 'job_changed');
      assert.equal(m.private, true);
      assert.equal(m.extension, 'broadcast');
      assert.deepEqual(Object.keys(m.payload).sort(), [
        'attempt', 'error_class', 'id', 'model_id', 'old_status', 'progress', 'stage', 'status', 'updated_at', 'user_id',
      ]);
      assert.equal(m.payload.user_id, DEMO_USERS.alice.id);
    }
    assert.equal(messages[2]!.payload.stage, 'rendering');
    assert.equal(messages[3]!.payload.error_class, 'timeout');
    assert.ok(!('prompt' in messages[0]!.payload), 'the prompt is not broadcast');
  });

  test('a claim of many jobs broadcasts one message per job', async () => {
    const ids = [(await createJob(t.db)).id, (await createJob(t.db)).id, (await createJob(t.db)).id];
    await claim(t.db, 3);
    for (const id of ids) assert.equal((await messagesFor(id)).filter((m) => m.payload.status === 'running').length, 1);
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
      assert.equal(sentDone.rows[0].n, 1, 'only the message from before broadcasts failed (the job was created)');
    } finally {
      client.off('notice', onNotice);
      await client.query('rollback');
      client.release();
    }
  });
});
