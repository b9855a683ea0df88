import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  RealtimePostgresChangesPayload,
  RealtimePostgresDeletePayload,
  RealtimePostgresInsertPayload,
  RealtimePostgresUpdatePayload,
  RealtimeSystemPayload,
  SupabaseClient,
} from '@supabase/supabase-js';
import pg from 'pg';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { until } from '../../../../testkit/wait.ts';
import { signedInClient } from '../../../../testkit/http/clients.ts';
import { closeClients, Inbox, subscribe, writer, type BroadcastEvent } from '../../../../testkit/realtime/channels.ts';

let stack: TestStack;
let db: pg.Pool;
let alice: SupabaseClient;
let bob: SupabaseClient;
let admin: SupabaseClient;

before(async () => {
  stack = await startTestStack();
  db = writer(stack);
  await db.query(`
    create table public.rt_notes (
      id bigint generated always as identity primary key,
      owner uuid not null,
      title text,
      n int,
      big bigint,
      price numeric,
      ratio float8,
      done boolean,
      data jsonb,
      tags text[],
      nums int[],
      at timestamptz,
      local_at timestamp,
      day date
    );
    alter table public.rt_notes enable row level security;
    create policy "owners read" on public.rt_notes for select to authenticated using (owner = auth.uid());
    create policy "admins read" on public.rt_notes for select to authenticated
      using ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');

    create table public.rt_full (id int primary key, label text, owner uuid);
    alter table public.rt_full replica identity full;
    alter table public.rt_full enable row level security;
    create policy "all read" on public.rt_full for select to authenticated using (true);

    create table public.rt_open (id int primary key, label text);
    alter table public.rt_open enable row level security;
    create policy "all read" on public.rt_open for select to authenticated using (true);

    create table public.rt_unpublished (id int primary key, label text);
    alter publication supabase_realtime add table public.rt_notes, public.rt_full, public.rt_open;
  `);
  ({ client: alice } = await signedInClient(stack, 'alice'));
  ({ client: bob } = await signedInClient(stack, 'bob'));
  ({ client: admin } = await signedInClient(stack, 'admin'));
});

after(async () => {
  await closeClients(alice, bob, admin);
  await db.end();
  await stack.stop();
});

const ALICE = DEMO_USERS.alice.id;
const BOB = DEMO_USERS.bob.id;

/** Rows of the tables above, as postgres_changes encodes them in JSON. */
type NoteRow = {
  id: number;
  owner: string;
  title: string | null;
  n: number | null;
  /** Text beyond 2^53, so it stays exact. */
  big: number | string | null;
  price: number | null;
  ratio: number | null;
  done: boolean | null;
  data: unknown;
  tags: Array<string | null> | null;
  nums: number[] | null;
  at: string | null;
  local_at: string | null;
  day: string | null;
};
type FullRow = { id: number; label: string | null; owner: string | null };
type OpenRow = { id: number; label: string | null };
type PairRow = { a: number; b: string; owner: string };
/** A change to any table: the tests look only at what every row has in common. */
type AnyRow = Record<string, unknown>;

/** The row after a change of any kind: `new` is the row for INSERT and UPDATE, `{}` for DELETE. */
const newRow = <T extends AnyRow>(change: RealtimePostgresChangesPayload<T>): Partial<T> => change.new;

describe('postgres_changes delivery', () => {
  test('an INSERT arrives with typed values, columns and commit_timestamp', async () => {
    const inbox = new Inbox<RealtimePostgresInsertPayload<NoteRow>>();
    const systems = new Inbox<RealtimeSystemPayload>();
    const channel = alice
      .channel('types')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes' }, inbox.push)
      .on('system', {}, systems.push);
    await subscribe(channel);
    const system = await systems.next('system message');
    assert.equal(system.extension, 'postgres_changes');
    assert.equal(system.status, 'ok');
    assert.equal(system.message, 'Subscribed to PostgreSQL');

    const before = Date.now();
    await db.query(
      `insert into public.rt_notes (owner, title, n, big, price, ratio, done, data, tags, nums, at, local_at, day)
       values ($1, 'hello, "world"', 42, 9007199254740993, 12.50, 0.25, true, '{"a":[1,{"b":null}]}',
               array['x', 'y z', 'q"uote', null], array[1,2,3], '2024-05-01 12:00:00.123+02', '2024-05-01 08:30:00', '2024-05-01')`,
      [ALICE],
    );
    const event = await inbox.next('insert');
    assert.equal(event.eventType, 'INSERT');
    assert.equal(event.schema, 'public');
    assert.equal(event.table, 'rt_notes');
    assert.deepEqual(event.errors, null);
    assert.deepEqual(event.old, {});
    const ts = Date.parse(event.commit_timestamp);
    assert.match(event.commit_timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(ts >= before - 2000 && ts <= Date.now() + 2000, 'commit_timestamp is the commit time');
    const r = event.new;
    assert.equal(typeof r.id, 'number');
    assert.equal(r.owner, ALICE);
    assert.equal(r.title, 'hello, "world"');
    assert.equal(r.n, 42);
    assert.equal(r.price, 12.5);
    assert.equal(r.ratio, 0.25);
    assert.equal(r.done, true);
    assert.deepEqual(r.data, { a: [1, { b: null }] });
    assert.deepEqual(r.tags, ['x', 'y z', 'q"uote', null]);
    assert.deepEqual(r.nums, [1, 2, 3]);
    assert.equal(r.at, '2024-05-01T10:00:00.123+00:00');
    assert.equal(r.local_at, '2024-05-01T08:30:00');
    assert.equal(r.day, '2024-05-01');
    // Beyond 2^53 a bigint stays exact as text rather than being rounded.
    assert.ok(r.big === '9007199254740993' || r.big === 9007199254740993);
    await alice.removeChannel(channel);
  });

  test('UPDATE carries old_record per replica identity: the key by default, the whole row with FULL', async () => {
    const { rows } = await db.query(`insert into public.rt_notes (owner, title) values ($1, 'before') returning id`, [ALICE]);
    await db.query(`insert into public.rt_full (id, label, owner) values (1, 'before', $1)`, [ALICE]);
    const notes = new Inbox<RealtimePostgresUpdatePayload<NoteRow>>();
    const full = new Inbox<RealtimePostgresUpdatePayload<FullRow>>();
    const channel = alice
      .channel('updates')
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'rt_notes' }, notes.push)
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'rt_full' }, full.push);
    await subscribe(channel);
    await db.query(`update public.rt_notes set title = 'after' where id = $1`, [rows[0].id]);
    await db.query(`update public.rt_full set label = 'after' where id = 1`);
    const n = await notes.next('notes update');
    assert.equal(n.eventType, 'UPDATE');
    assert.equal(n.new.title, 'after');
    assert.deepEqual(n.old, { id: Number(rows[0].id) });
    const f = await full.next('full update');
    assert.deepEqual(f.old, { id: 1, label: 'before', owner: ALICE });
    assert.deepEqual(f.new, { id: 1, label: 'after', owner: ALICE });
    assert.equal(notes.unread().length + full.unread().length, 0);
    await alice.removeChannel(channel);
  });

  test('DELETE goes out without an RLS check, so on an RLS table it carries only the primary key', async () => {
    const { rows } = await db.query(`insert into public.rt_notes (owner, title) values ($1, 'secret') returning id`, [BOB]);
    await db.query(`insert into public.rt_full (id, label, owner) values (2, 'gone', $1)`, [BOB]);
    const inbox = new Inbox<RealtimePostgresDeletePayload<AnyRow>>();
    const channel = alice
      .channel('deletes')
      .on('postgres_changes', { event: 'DELETE', schema: 'public', table: 'rt_notes' }, inbox.push)
      .on('postgres_changes', { event: 'DELETE', schema: 'public', table: 'rt_full' }, inbox.push);
    await subscribe(channel);
    await db.query(`delete from public.rt_notes where id = $1`, [rows[0].id]);
    await db.query(`delete from public.rt_full where id = 2`);
    const a = await inbox.next('notes delete');
    assert.equal(a.eventType, 'DELETE');
    assert.deepEqual(a.old, { id: Number(rows[0].id) }, 'no title or owner of a row alice could not read');
    assert.deepEqual(a.new, {});
    const b = await inbox.next('full delete');
    assert.deepEqual(b.old, { id: 2 }, 'RLS table: key only, even with REPLICA IDENTITY FULL');
    await alice.removeChannel(channel);
  });

  test('event "*" receives inserts, updates and deletes of every table in the schema when no table is given', async () => {
    const inbox = new Inbox<RealtimePostgresChangesPayload<AnyRow>>();
    const channel = alice.channel('all').on('postgres_changes', { event: '*', schema: 'public' }, inbox.push);
    await subscribe(channel);
    // Each change is awaited before the next: visibility is checked against the row as it is
    // when the batch is checked (as Supabase does), so a row deleted first would not be seen.
    const seen: string[] = [];
    const step = async (sql: string) => {
      await db.query(sql);
      const e = await inbox.next(sql);
      seen.push(`${e.table}:${e.eventType}`);
    };
    await step(`insert into public.rt_open values (10, 'a')`);
    await step(`update public.rt_open set label = 'b' where id = 10`);
    await step(`delete from public.rt_open where id = 10`);
    await db.query(`insert into public.rt_unpublished values (1, 'not in the publication')`);
    await step(`insert into public.rt_open values (11, 'marker')`);
    assert.deepEqual(seen, ['rt_open:INSERT', 'rt_open:UPDATE', 'rt_open:DELETE', 'rt_open:INSERT']);
    await alice.removeChannel(channel);
  });
});

describe('filters', () => {
  const cases: Array<[string, number[]]> = [
    ['id=eq.102', [102]],
    ['id=neq.102', [101, 103]],
    ['id=lt.102', [101]],
    ['id=lte.102', [101, 102]],
    ['id=gt.102', [103]],
    ['id=gte.102', [102, 103]],
    ['id=in.(101,103)', [101, 103]],
    ['label=eq.b c', [102]],
    ['label=in.("a",b c)', [101, 102]],
  ];
  for (const [filter, expected] of cases) {
    test(`${filter} delivers exactly ${expected.join(', ')}`, async () => {
      const inbox = new Inbox<RealtimePostgresInsertPayload<OpenRow>>();
      const channel = alice
        .channel(`filter-${filter}`)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_open', filter }, inbox.push);
      await subscribe(channel);
      await db.query(`delete from public.rt_open where id between 100 and 200`);
      await db.query(`insert into public.rt_open values (101, 'a'), (102, 'b c'), (103, 'd')`);
      const marker = alice
        .channel(`marker-${filter}`)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_open', filter: 'id=eq.199' }, inbox.push);
      await subscribe(marker);
      await db.query(`insert into public.rt_open values (199, 'marker')`);
      const ids: number[] = [];
      for (;;) {
        const e = await inbox.next('filtered insert');
        if (e.new.id === 199) break;
        ids.push(e.new.id);
      }
      assert.deepEqual(ids, expected);
      await alice.removeChannel(channel);
      await alice.removeChannel(marker);
    });
  }

  test('a filter on a missing column, or a table that does not exist, is refused with a system error', async () => {
    const systems = new Inbox<RealtimeSystemPayload>();
    const channel = alice
      .channel('bad-filter')
      .on('postgres_changes', { event: '*', schema: 'public', table: 'rt_open', filter: 'nope=eq.1' }, () => {})
      .on('system', {}, systems.push);
    await subscribe(channel);
    const s = await systems.next('system error');
    assert.equal(s.status, 'error');
    assert.equal(s.extension, 'postgres_changes');
    assert.match(s.message, /invalid column for filter nope/);

    const missing = new Inbox<RealtimeSystemPayload>();
    const other = alice
      .channel('missing-table')
      .on('postgres_changes', { event: '*', schema: 'public', table: 'no_such_table' }, () => {})
      .on('system', {}, missing.push);
    await subscribe(other);
    assert.match((await missing.next('system error')).message, /Unable to subscribe to changes/);

    const parse = new Inbox<RealtimeSystemPayload>();
    const third = alice
      .channel('bad-op')
      .on('postgres_changes', { event: '*', schema: 'public', table: 'rt_open', filter: 'id=like.1' }, () => {})
      .on('system', {}, parse.push);
    await subscribe(third);
    assert.match((await parse.next('system error')).message, /Error parsing `filter` params/);
    await alice.removeChannel(channel);
    await alice.removeChannel(other);
    await alice.removeChannel(third);
  });
});

describe('RLS isolation', () => {
  test("alice never receives bob's row; bob and an admin do", async () => {
    const aliceInbox = new Inbox<RealtimePostgresChangesPayload<NoteRow>>();
    const bobInbox = new Inbox<RealtimePostgresChangesPayload<NoteRow>>();
    const adminInbox = new Inbox<RealtimePostgresChangesPayload<NoteRow>>();
    const on = (client: SupabaseClient, name: string, inbox: Inbox<RealtimePostgresChangesPayload<NoteRow>>) =>
      subscribe(client.channel(name).on('postgres_changes', { event: '*', schema: 'public', table: 'rt_notes' }, inbox.push));
    const channels = await Promise.all([on(alice, 'iso-a', aliceInbox), on(bob, 'iso-b', bobInbox), on(admin, 'iso-admin', adminInbox)]);

    await db.query(`insert into public.rt_notes (owner, title) values ($1, 'bob secret')`, [BOB]);
    await db.query(`update public.rt_notes set title = 'bob secret 2' where owner = $1`, [BOB]);
    await db.query(`insert into public.rt_notes (owner, title) values ($1, 'alice marker')`, [ALICE]);

    const first = await aliceInbox.next('alice marker');
    assert.equal(newRow(first).title, 'alice marker', 'the first thing alice sees is her own marker');
    assert.deepEqual(aliceInbox.unread(), []);

    assert.equal(newRow(await bobInbox.next('bob insert')).title, 'bob secret');
    const bobUpdate = await bobInbox.next('bob update');
    assert.equal(bobUpdate.eventType, 'UPDATE');
    assert.equal(newRow(bobUpdate).title, 'bob secret 2');
    const adminSeen = [await adminInbox.next('1'), await adminInbox.next('2')];
    assert.ok(adminSeen.some((e) => newRow(e).title === 'bob secret'));
    for (const c of channels) await c.unsubscribe();
  });

  test('a user who loses read access by a later update stops receiving the row', async () => {
    const { rows } = await db.query(`insert into public.rt_notes (owner, title) values ($1, 'mine') returning id`, [ALICE]);
    const inbox = new Inbox<RealtimePostgresUpdatePayload<NoteRow>>();
    const channel = await subscribe(
      alice.channel('handover').on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'rt_notes' }, inbox.push),
    );
    await db.query(`update public.rt_notes set owner = $1, title = 'now bob''s' where id = $2`, [BOB, rows[0].id]);
    await db.query(`insert into public.rt_notes (owner, title) values ($1, 'x')`, [ALICE]);
    await db.query(`update public.rt_notes set title = 'marker' where owner = $1 and title = 'x'`, [ALICE]);
    const e = await inbox.next('marker update');
    assert.equal(e.new.title, 'marker');
    assert.deepEqual(inbox.unread(), []);
    await channel.unsubscribe();
  });

  test('anon, with no policy for it, receives nothing but its own allowed table', async () => {
    const { createTestClient } = await import('../../../../testkit/http/clients.ts');
    const anon = createTestClient(stack, stack.publishableKey);
    await stack.db.query(`create policy "anon open" on public.rt_open for select to anon using (id = 500)`);
    const inbox = new Inbox<RealtimePostgresInsertPayload<AnyRow>>();
    const channel = await subscribe(
      anon
        .channel('anon')
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes' }, inbox.push)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_open' }, inbox.push),
    );
    await db.query(`insert into public.rt_notes (owner, title) values ($1, 'hidden')`, [ALICE]);
    await db.query(`insert into public.rt_open values (499, 'hidden'), (500, 'marker')`);
    const e = await inbox.next('anon marker');
    assert.equal(e.new.label, 'marker');
    assert.deepEqual(inbox.unread(), []);
    await channel.unsubscribe();
    await closeClients(anon);
  });
});

describe('composite primary keys', () => {
  test('RLS is checked by the whole key', async () => {
    await db.query(`
      create table public.rt_pairs (a int, b text, owner uuid not null, primary key (a, b));
      alter table public.rt_pairs enable row level security;
      create policy "own" on public.rt_pairs for select to authenticated using (owner = auth.uid());
      alter publication supabase_realtime add table public.rt_pairs;
    `);
    const inbox = new Inbox<RealtimePostgresInsertPayload<PairRow>>();
    const channel = await subscribe(
      alice.channel('pairs').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_pairs' }, inbox.push),
    );
    await db.query(`insert into public.rt_pairs values (1, 'x y', $1), (1, 'z', $2), (2, 'x y', $2)`, [BOB, ALICE]);
    const seen = [await inbox.next('first'), await inbox.next('second')].map((e) => `${e.new.a}/${e.new.b}`);
    await db.query(`insert into public.rt_pairs values (3, 'marker', $1)`, [ALICE]);
    seen.push(`${(await inbox.next('marker')).new.a}`);
    assert.deepEqual(seen, ['1/z', '2/x y', '3']);
    await channel.unsubscribe();
  });
});

describe('select', () => {
  test('selected columns plus the primary key are all that is sent', async () => {
    const inbox = new Inbox<RealtimePostgresInsertPayload<AnyRow>>();
    const channel = await subscribe(
      alice
        .channel('select')
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes', select: ['title'] }, inbox.push),
    );
    await db.query(`insert into public.rt_notes (owner, title, n) values ($1, 'only title', 7)`, [ALICE]);
    const e = await inbox.next('insert');
    assert.deepEqual(Object.keys(e.new).sort(), ['id', 'title']);
    await channel.unsubscribe();
  });
});

describe('Broadcast from Database beside Postgres Changes', () => {
  test('a broadcast goes out while an earlier change still waits for its RLS check', async () => {
    // The policy of rt_gated waits for an advisory lock the test holds, so the RLS check of a
    // change to it cannot finish until the test lets it.
    await db.query(`
      create function public.rt_gate() returns boolean language plpgsql as $$
      begin
        perform pg_advisory_xact_lock_shared(4242);
        return true;
      end $$;
      create table public.rt_gated (id int primary key, label text);
      alter table public.rt_gated enable row level security;
      create policy "through the gate" on public.rt_gated for select to authenticated using (public.rt_gate());
      alter publication supabase_realtime add table public.rt_gated;
    `);
    const changes = new Inbox<RealtimePostgresInsertPayload<OpenRow>>();
    const broadcasts = new Inbox<BroadcastEvent>();
    const gated = await subscribe(
      alice.channel('gated').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_gated' }, changes.push),
    );
    const room = await subscribe(alice.channel('gate-room').on('broadcast', { event: 'ping' }, broadcasts.push));
    const holder = new pg.Client({ connectionString: stack.dbUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock(4242)');
      await db.query(`insert into public.rt_gated values (1, 'behind the gate')`);
      await until(
        async () =>
          (await db.query(`select 1 from pg_locks where locktype = 'advisory' and objid = 4242 and not granted`)).rowCount === 1,
        { label: 'the RLS check to wait at the gate' },
      );
      await db.query(`select realtime.send('{"n": 1}', 'ping', 'gate-room', false)`);

      assert.deepEqual((await broadcasts.next('the broadcast, while the check waits')).payload, { n: 1 });
      assert.deepEqual(changes.items, [], 'the change is still waiting for its check');
    } finally {
      await holder.query('select pg_advisory_unlock(4242)');
      await holder.end();
    }
    assert.equal((await changes.next('the change, once the gate opens')).new.label, 'behind the gate');
    await alice.removeChannel(gated);
    await alice.removeChannel(room);
  });
});
