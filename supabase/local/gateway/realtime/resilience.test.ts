import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RealtimePostgresInsertPayload, SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { generateSigningKey } from '../../jwt.ts';
import { createProjectKeys } from '../../project-keys.ts';
import { createTestClient, signedInClient } from '../../../../testkit/http/clients.ts';
import { createTestDatabase } from '../../../../testkit/database/cluster.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { startGateway } from '../server.ts';
import { closeClients, dropSocket, Inbox, subscribe, writer, WRITER_APPLICATION_NAME, type BroadcastEvent } from '../../../../testkit/realtime/channels.ts';
import { until } from '../../../../testkit/wait.ts';

let stack: TestStack;
let db: pg.Pool;
let alice: SupabaseClient;
const ALICE = DEMO_USERS.alice.id;
/** A row of public.rt_events, created below. */
type EventRow = { id: number; owner: string };

before(async () => {
  stack = await startTestStack();
  db = writer(stack);
  await db.query(`
    create table public.rt_events (id int primary key, owner uuid not null);
    alter table public.rt_events enable row level security;
    create policy "own" on public.rt_events for select to authenticated using (owner = auth.uid());
    alter publication supabase_realtime add table public.rt_events;
    create policy "own topic" on realtime.messages for select to authenticated using (realtime.topic() = 'user:' || auth.uid()::text);
  `);
  ({ client: alice } = await signedInClient(stack, 'alice'));
});

after(async () => {
  await closeClients(alice);
  await db.end();
  await stack.stop();
});

async function slot() {
  const { rows } = await db.query(
    `select slot_name, active_pid, confirmed_flush_lsn::text as flushed from pg_replication_slots
      where database = current_database() and slot_name like 'realtime\\_local\\_%'`,
  );
  assert.equal(rows.length, 1, 'one slot per gateway');
  return rows[0] as { slot_name: string; active_pid: number | null; flushed: string };
}

describe('when Postgres drops every connection', () => {
  test('the server reconnects to its slot and delivers what was committed meanwhile, once each, in order', async () => {
    const changes = new Inbox<RealtimePostgresInsertPayload<EventRow>>();
    const broadcasts = new Inbox<BroadcastEvent>();
    await subscribe(alice.channel('events').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_events' }, changes.push));
    await subscribe(alice.channel(`user:${ALICE}`, { config: { private: true } }).on('broadcast', { event: '*' }, broadcasts.push));
    await db.query(`insert into public.rt_events values (1, $1)`, [ALICE]);
    assert.equal((await changes.next('before')).new.id, 1);

    const before = await slot();
    assert.ok(before.active_pid);
    // What a Postgres restart does to the server: its walsender and both gateway pools are
    // terminated. (The test's own writer is spared so its next insert does not race the pool.)
    await db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and application_name <> $1`,
      [WRITER_APPLICATION_NAME],
    );
    await db.query(`insert into public.rt_events select g, $1 from generate_series(2, 6) g`, [ALICE]);
    for (let i = 7; i <= 9; i++) await db.query(`insert into public.rt_events values ($1, $2)`, [i, ALICE]);
    await db.query(`select realtime.send('{"after":"restart"}'::jsonb, 'note', $1)`, [`user:${ALICE}`]);

    const ids: number[] = [];
    for (let i = 2; i <= 9; i++) ids.push((await changes.next(`change ${i}`, 15_000)).new.id);
    assert.deepEqual(ids, [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual((await broadcasts.next('broadcast after restart', 15_000)).payload, { after: 'restart' });
    const afterKill = await slot();
    assert.equal(afterKill.slot_name, before.slot_name, 'same slot resumed');
    assert.ok(afterKill.active_pid && afterKill.active_pid !== before.active_pid, 'a new walsender');

    // Nothing is delivered twice, and the slot is acknowledged up to what was delivered.
    await db.query(`insert into public.rt_events values (100, $1)`, [ALICE]);
    assert.equal((await changes.next('marker')).new.id, 100);
    assert.deepEqual(changes.unread(), []);
    const { rows } = await db.query(`select pg_current_wal_lsn()::text as lsn`);
    await until(async () => {
      const { rows: cmp } = await db.query(`select $1::pg_lsn >= $2::pg_lsn as ok`, [(await slot()).flushed, rows[0].lsn]);
      return cmp[0].ok;
    }, { label: 'the slot to confirm past the last delivered change' });
    await alice.removeAllChannels();
  });
});

describe('when a client loses its socket', () => {
  test('realtime-js reconnects and rejoins, and changes flow again', async () => {
    const changes = new Inbox<RealtimePostgresInsertPayload<EventRow>>();
    const statuses = new Inbox<string>();
    alice.channel('rejoin').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_events' }, changes.push).subscribe((s) => statuses.push(s));
    assert.equal(await statuses.next('first join'), 'SUBSCRIBED');
    dropSocket(alice);
    // realtime-js reports the lost socket as CHANNEL_ERROR, then rejoins on its own.
    assert.equal(await statuses.next('error on drop'), 'CHANNEL_ERROR');
    assert.equal(await statuses.next('rejoin', 10_000), 'SUBSCRIBED');
    await db.query(`insert into public.rt_events values (200, $1)`, [ALICE]);
    assert.equal((await changes.next('after rejoin')).new.id, 200);
    await alice.removeAllChannels();
  });
});

describe('slot ownership', () => {
  test('closing the gateway drops its slot, so the database can be dropped', async () => {
    const database = await createTestDatabase();
    const keys = await createProjectKeys({ signingKeys: [await generateSigningKey()] });
    const gateway = await startGateway({ dbUrl: database.url, port: 0, keys });
    const client = createTestClient({ apiUrl: gateway.url }, keys.publishableKey);
    await subscribe(client.channel('anything'));
    const probe = new pg.Client({ connectionString: database.url });
    await probe.connect();
    const count = async () => (await probe.query(`select count(*)::int as n from pg_replication_slots where database = current_database()`)).rows[0].n;
    assert.equal(await count(), 1);
    await closeClients(client);
    await gateway.close();
    assert.equal(await count(), 0);
    await probe.end();
    await database.drop();
  });
});
