import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import type { RealtimeChannel } from '@supabase/supabase-js';
import { parseUserJobChange } from '../../lib/jobs/user-job-change.ts';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import {
  closeClients,
  Inbox,
  subscribe,
  writer,
  type BroadcastEvent,
} from '../../testkit/realtime/channels.ts';
import { createTestClient, signedInClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH, query } from '../../testkit/database/fixtures.ts';

/**
 * The end users' feed end to end: the official client joins 'user:<id>:jobs' through the
 * gateway's Realtime as the signed-in user, and every change the pipeline makes to their jobs,
 * and every grant, arrives over it. Other users are refused the topic, nobody can send on it,
 * and nothing of one user's reaches another's socket.
 */
type Payload = Record<string, unknown>;

let stack: TestStack;
let db: pg.Pool;
const clients: DatabaseClient[] = [];
let alice: DatabaseClient;
let bob: DatabaseClient;
let aliceChannel: RealtimeChannel;
const aliceTopic = `user:${DEMO_USERS.alice.id}:jobs`;
const bobTopic = `user:${DEMO_USERS.bob.id}:jobs`;
/** Everything alice's and bob's tabs receive on their own topics, over the whole file. */
const aliceInbox = new Inbox<BroadcastEvent<Payload>>();
const bobInbox = new Inbox<BroadcastEvent<Payload>>();

function userChannel(client: DatabaseClient, topic: string, inbox?: Inbox<BroadcastEvent<Payload>>): RealtimeChannel {
  const channel = client.channel(topic, { config: { private: true, broadcast: { self: true } } });
  if (inbox) channel.on('broadcast', { event: '*' }, (m) => inbox.push(m as BroadcastEvent<Payload>));
  return channel;
}

before(async () => {
  stack = await startTestStack();
  db = writer(stack);
  alice = (await signedInClient(stack, 'alice')).client;
  bob = (await signedInClient(stack, 'bob')).client;
  clients.push(alice, bob);
  aliceChannel = await subscribe(userChannel(alice, aliceTopic, aliceInbox));
  await subscribe(userChannel(bob, bobTopic, bobInbox));
});
after(async () => {
  await closeClients(...clients);
  await db.end();
  await stack.stop();
});

async function createAliceJob(prompt: string): Promise<{ id: string; credits_cost: number }> {
  const { data, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: prompt });
  assert.equal(error, null);
  return data as { id: string; credits_cost: number };
}

async function claimJob(id: string): Promise<string> {
  const rows = await query<{ id: string; lease_token: string }>(db, 'service', `select id, lease_token from public.claim_jobs('w', 50)`);
  const mine = rows.find((r) => r.id === id);
  assert.ok(mine, 'the job was claimed');
  return mine.lease_token;
}

/** Reads alice's inbox until the message that `done` accepts, returning what arrived for the job. */
async function jobMessagesUntil(id: string, done: (p: Payload) => boolean): Promise<Payload[]> {
  const got: Payload[] = [];
  for (;;) {
    const m = await aliceInbox.next(`alice's messages for ${id}`);
    if (m.event !== 'job_changed' || m.payload.id !== id) continue;
    got.push(m.payload);
    if (done(m.payload)) return got;
  }
}

/** Moves the job's last update two seconds back, so that its next progress is past the owner's once-a-second throttle. */
async function ageJob(id: string) {
  await db.query(`update public.jobs set updated_at = now() - interval '2 seconds' where id = $1`, [id]);
}

describe('user:<id>:jobs over Realtime', () => {
  test('the owner receives each transition: queued, running, progress at most once a second, succeeded', async () => {
    const job = await createAliceJob('a lighthouse at dusk');
    const token = await claimJob(job.id);
    await ageJob(job.id);
    await query(db, 'service', `select public.heartbeat_job($1, $2, 30, 'calling gemini')`, [job.id, token]);
    // Within a second of the previous progress: recorded in the row, not sent.
    await query(db, 'service', `select public.heartbeat_job($1, $2, 80, 'storing')`, [job.id, token]);
    const result = {
      bucket: 'results', path: `${DEMO_USERS.alice.id}/${job.id}.png`, width: 64, height: 64, mimeType: 'image/png', bytes: 10,
      thumbnail_path: `${DEMO_USERS.alice.id}/${job.id}.thumb.jpg`, thumbnail_width: 64, thumbnail_height: 64,
    };
    await query(db, 'service', `select public.complete_job($1, $2, $3)`, [job.id, token, JSON.stringify(result)]);

    const sent = await jobMessagesUntil(job.id, (p) => p.status === 'succeeded');
    // As the pages read them: a key left out of a message (its value null, or nothing refunded) reads as null or 0.
    const got = sent.map((p) => parseUserJobChange(p)!);
    assert.deepEqual(
      got.map((p) => [p.old_status, p.status, p.progress, p.stage]),
      [
        [null, 'queued', 0, null],
        ['queued', 'running', 0, 'claimed'],
        ['running', 'running', 30, 'calling gemini'],
        ['running', 'succeeded', 100, 'done'],
      ],
    );
    assert.deepEqual(got.at(-1), {
      id: job.id, status: 'succeeded', old_status: 'running', stage: 'done', progress: 100, attempt: 1, error_class: null,
      result,
      refunded: 0, updated_at: got.at(-1)!.updated_at,
    });
    for (const p of sent) assert.ok(!('user_id' in p) && !('prompt' in p) && !('lease_token' in p) && !('worker_id' in p));
    assert.deepEqual(Object.keys(sent[0]!).sort(), ['attempt', 'id', 'progress', 'status', 'updated_at'], 'a new job: no key without a value');
  });

  test('a final failure arrives with the refund', async () => {
    const job = await createAliceJob('a storm over the sea');
    const token = await claimJob(job.id);
    await query(db, 'service', `select public.fail_job($1, $2, 'safety_blocked', 'blocked', false)`, [job.id, token]);
    const got = await jobMessagesUntil(job.id, (p) => p.status === 'failed');
    const failed = parseUserJobChange(got.at(-1))!;
    assert.deepEqual([failed.old_status, failed.error_class, failed.refunded], ['running', 'safety_blocked', job.credits_cost]);
    assert.ok(job.credits_cost > 0);
  });

  test('a grant from support moves the balance live: credits_changed with the new balance', async () => {
    await query(db, 'support', `select public.grant_credits($1, 5, 'goodwill')`, [DEMO_USERS.alice.id]);
    const { rows } = await db.query(`select balance from public.credit_accounts where user_id = $1`, [DEMO_USERS.alice.id]);
    for (;;) {
      const m = await aliceInbox.next('credits_changed');
      if (m.event !== 'credits_changed') continue;
      assert.deepEqual(m.payload, { balance: Number(rows[0].balance) });
      break;
    }
  });

  test("another user may not join alice's topic, nor may anyone without a session", async () => {
    await assert.rejects(subscribe(userChannel(bob, aliceTopic)), /Unauthorized/);
    const support = (await signedInClient(stack, 'support')).client;
    clients.push(support);
    await assert.rejects(subscribe(userChannel(support, aliceTopic)), /Unauthorized/, 'staff watch admin:jobs, not users’ topics');
    const anon = createTestClient(stack, stack.publishableKey);
    clients.push(anon);
    await assert.rejects(subscribe(userChannel(anon, aliceTopic)), /Unauthorized/);
  });

  test('nobody can send on a user topic, not even its owner', async () => {
    // Without an insert policy the server drops it; realtime-js reports nothing, so the proof is
    // that it never arrives (broadcast.self is on: an accepted send would come back to alice).
    await aliceChannel.send({ type: 'broadcast', event: 'job_changed', payload: { id: 'forged', status: 'succeeded' } });
    // A marker through the database, after the forged send: when it arrives, the send would have too.
    await query(db, 'support', `select public.grant_credits($1, 1, 'marker')`, [DEMO_USERS.alice.id]);
    for (;;) {
      const m = await aliceInbox.next('the marker');
      assert.notEqual(m.payload.id, 'forged');
      if (m.event === 'credits_changed') break;
    }
  });

  test("a second user receives none of the first user's messages", async () => {
    const job = await createAliceJob('a private picture');
    const token = await claimJob(job.id);
    await ageJob(job.id);
    await query(db, 'service', `select public.heartbeat_job($1, $2, 50)`, [job.id, token]);
    await jobMessagesUntil(job.id, (p) => p.progress === 50);
    // A marker on bob's topic, sent after all of alice's: everything before it has been delivered.
    await query(db, 'support', `select public.grant_credits($1, 1, 'marker')`, [DEMO_USERS.bob.id]);
    for (;;) {
      const m = await bobInbox.next("bob's marker");
      if (m.event === 'credits_changed') break;
    }
    assert.deepEqual(
      bobInbox.items.filter((m) => m.event === 'job_changed'),
      [],
      'bob made no jobs, so nothing on his topic is a job_changed',
    );
  });
});
