import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { RealtimePresenceJoinPayload, SupabaseClient } from '@supabase/supabase-js';
import type pg from 'pg';
import { createTestClient, signedInClient } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { closeClients, Inbox, subscribe, writer, type BroadcastEvent } from '../../../../testkit/realtime/channels.ts';

let stack: TestStack;
let db: pg.Pool;
let alice: SupabaseClient;
let bob: SupabaseClient;
let anon: SupabaseClient;

const ALICE = DEMO_USERS.alice.id;
const BOB = DEMO_USERS.bob.id;

before(async () => {
  stack = await startTestStack();
  db = writer(stack);
  // The pattern Supabase recommends at scale: a trigger broadcasts each change into a private
  // per-user topic, and RLS on realtime.messages decides who may join that topic.
  await db.query(`
    create policy "users read their own topic" on realtime.messages for select to authenticated
      using (realtime.topic() = 'user:' || auth.uid()::text);
    create policy "users write their own topic" on realtime.messages for insert to authenticated
      with check (realtime.topic() = 'user:' || auth.uid()::text and extension = 'broadcast');
    create policy "everyone reads the lobby" on realtime.messages for select to authenticated
      using (realtime.topic() = 'lobby');

    create table public.rt_jobs (id int primary key, owner uuid not null, status text);
    alter table public.rt_jobs enable row level security;
    create function public.rt_jobs_broadcast() returns trigger language plpgsql as $$
    begin
      perform realtime.broadcast_changes('user:' || coalesce(new.owner, old.owner)::text, tg_op, tg_op,
                                         tg_table_name, tg_table_schema, new, old);
      return null;
    end $$;
    create trigger rt_jobs_broadcast after insert or update or delete on public.rt_jobs
      for each row execute function public.rt_jobs_broadcast();
  `);
  ({ client: alice } = await signedInClient(stack, 'alice'));
  ({ client: bob } = await signedInClient(stack, 'bob'));
  anon = createTestClient(stack, stack.publishableKey);
});

// supabase-js hands back the existing channel for a topic; each test starts from none.
afterEach(async () => {
  await Promise.all([alice, bob, anon].map((c) => c.removeAllChannels()));
});

after(async () => {
  await closeClients(alice, bob, anon);
  await db.end();
  await stack.stop();
});

/** A row of public.rt_jobs, as realtime.broadcast_changes puts it in `record` and `old_record`. */
type JobRow = { id: number; owner: string; status: string | null };
/** The payload realtime.broadcast_changes sends (see bootstrap.sql): `record` is null for a DELETE, `old_record` for an INSERT. */
type BroadcastChange<Row> = {
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  table: string;
  schema: string;
  record: Row | null;
  old_record: Row | null;
};

const privateChannel = (client: SupabaseClient, topic: string, extra: Record<string, unknown> = {}) =>
  client.channel(topic, { config: { private: true, ...extra } });

describe('joining private channels', () => {
  test('a user joins the topic the policies allow and is refused others, with Supabase’s message', async () => {
    await subscribe(privateChannel(alice, `user:${ALICE}`));
    await assert.rejects(subscribe(privateChannel(alice, `user:${BOB}`)), {
      message: `Unauthorized: You do not have permissions to read from this Channel topic: user:${BOB}`,
    });
    await assert.rejects(subscribe(privateChannel(anon, `user:${ALICE}`)), /Unauthorized/);
  });

  test('the authorisation probe leaves no rows behind', async () => {
    const { rows } = await stack.db.query(`select count(*)::int as n from realtime.messages where topic like 'user:%' and payload is null`);
    assert.equal(rows[0].n, 0);
  });
});

describe('Broadcast from Database', () => {
  test('realtime.broadcast_changes from a trigger reaches only the owner’s private topic', async () => {
    const aliceInbox = new Inbox<BroadcastEvent<BroadcastChange<JobRow>>>();
    const bobInbox = new Inbox<BroadcastEvent<BroadcastChange<JobRow>>>();
    const publicInbox = new Inbox<BroadcastEvent>();
    await subscribe(privateChannel(alice, `user:${ALICE}`).on('broadcast', { event: '*' }, aliceInbox.push));
    await subscribe(privateChannel(bob, `user:${BOB}`).on('broadcast', { event: '*' }, bobInbox.push));
    // A public channel with the same name is another room: it must not get private messages.
    await subscribe(anon.channel(`user:${ALICE}`).on('broadcast', { event: '*' }, publicInbox.push));

    await db.query(`insert into public.rt_jobs values (1, $1, 'queued')`, [BOB]);
    await db.query(`update public.rt_jobs set status = 'running' where id = 1`);
    await db.query(`insert into public.rt_jobs values (2, $1, 'queued')`, [ALICE]);

    const got = await aliceInbox.next('alice job broadcast');
    assert.equal(got.event, 'INSERT');
    assert.equal(got.payload.operation, 'INSERT');
    assert.equal(got.payload.table, 'rt_jobs');
    assert.deepEqual(got.payload.record, { id: 2, owner: ALICE, status: 'queued' });
    assert.equal(typeof got.meta?.id, 'string', 'messages carry their realtime.messages id');
    assert.deepEqual(aliceInbox.unread(), [], "none of bob's job events reached alice");

    assert.equal((await bobInbox.next('bob insert')).payload.record?.status, 'queued');
    const update = await bobInbox.next('bob update');
    assert.equal(update.event, 'UPDATE');
    assert.equal(update.payload.old_record?.status, 'queued');
    assert.equal(update.payload.record?.status, 'running');

    // realtime.send with private = false goes to the public room only.
    await db.query(`select realtime.send('{"hello":"public"}'::jsonb, 'greeting', $1, false)`, [`user:${ALICE}`]);
    assert.deepEqual((await publicInbox.next('public send')).payload, { hello: 'public' });
    assert.deepEqual(aliceInbox.unread(), []);
    assert.equal(publicInbox.items.length, 1, 'the public room got none of the private job events');
  });

  test('a message sent while nobody listens is not replayed to a later join', async () => {
    await db.query(`select realtime.send('{"n":1}'::jsonb, 'early', $1)`, [`user:${ALICE}`]);
    const inbox = new Inbox<BroadcastEvent>();
    await subscribe(privateChannel(alice, `user:${ALICE}`).on('broadcast', { event: '*' }, inbox.push));
    await db.query(`select realtime.send('{"n":2}'::jsonb, 'late', $1)`, [`user:${ALICE}`]);
    const got = await inbox.next('late message');
    assert.deepEqual(got.payload, { n: 2 });
  });
});

describe('client broadcasts on private channels', () => {
  test('the insert policy decides who may send; refused sends are dropped', async () => {
    const inbox = new Inbox<BroadcastEvent>();
    const own = await subscribe(
      privateChannel(alice, `user:${ALICE}`, { broadcast: { self: true } }).on('broadcast', { event: 'note' }, inbox.push),
    );
    await own.send({ type: 'broadcast', event: 'note', payload: { from: 'alice' } });
    assert.deepEqual((await inbox.next('own note')).payload, { from: 'alice' });

    // Everyone may read the lobby, nobody has an insert policy there: bob's send is dropped.
    const lobbyInbox = new Inbox<BroadcastEvent>();
    await subscribe(privateChannel(alice, 'lobby').on('broadcast', { event: 'note' }, lobbyInbox.push));
    const bobLobby = await subscribe(privateChannel(bob, 'lobby'));
    await bobLobby.send({ type: 'broadcast', event: 'note', payload: { from: 'bob' } });
    const marker = await fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { apikey: stack.publishableKey, authorization: `Bearer ${stack.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 'lobby', event: 'note', payload: { from: 'service' }, private: true }] }),
    });
    assert.equal(marker.status, 202);
    assert.deepEqual((await lobbyInbox.next('lobby marker')).payload, { from: 'service' }, "bob's note never arrived");
  });

  test('the HTTP API applies the same policy to private messages; service_role bypasses it', async () => {
    const inbox = new Inbox<BroadcastEvent>();
    await subscribe(privateChannel(alice, `user:${ALICE}`).on('broadcast', { event: 'api' }, inbox.push));
    const post = (token: string, from: string) =>
      fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: { apikey: stack.publishableKey, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: `user:${ALICE}`, event: 'api', payload: { from }, private: true }] }),
      });
    const bobToken = (await bob.auth.getSession()).data.session!.access_token;
    assert.equal((await post(bobToken, 'bob')).status, 202);
    assert.equal((await post(stack.secretKey, 'service')).status, 202);
    assert.deepEqual((await inbox.next('service message')).payload, { from: 'service' });
    assert.deepEqual(inbox.unread(), []);
    assert.equal(inbox.items.length, 1, "bob's message was dropped");
  });
});

describe('presence on a private channel', () => {
  test('tracking needs an insert policy for presence; without one, track is refused', async () => {
    await assert.rejects(subscribe(privateChannel(alice, 'no-policy-here')), /Unauthorized/);
    const joins = new Inbox<RealtimePresenceJoinPayload<Record<string, unknown>>>();
    const lobbyA = alice.channel('lobby', { config: { private: true, presence: { key: 'alice' } } });
    lobbyA.on('presence', { event: 'join' }, joins.push);
    await subscribe(lobbyA);
    const lobbyB = bob.channel('lobby', { config: { private: true, presence: { key: 'bob' } } });
    lobbyB.on('presence', { event: 'sync' }, () => {});
    await subscribe(lobbyB);
    assert.equal(await lobbyB.track({ online: true }), 'error');
    assert.deepEqual(joins.items, []);
  });
});
