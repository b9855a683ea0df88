import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient, signedInClient, type FixtureSchema } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { type TestStack } from '../../../../testkit/http/stack.ts';
import { rest, startRestStack } from '../../../../testkit/http/rest-fixture.ts';

let stack: TestStack;
let alice: SupabaseClient;
let service: SupabaseClient;
before(async () => {
  stack = await startRestStack();
  alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
  service = createTestClient<FixtureSchema>(stack, stack.secretKey);
});
after(async () => {
  await stack.stop();
});

async function rowCount(where = 'true'): Promise<number> {
  const { rows } = await stack.db.query(`select count(*)::int as n from public.notes where ${where}`);
  return rows[0].n;
}

describe('inserting', () => {
  test('an object: 201, no body by default, defaults filled (owner from auth.uid())', async () => {
    const { data, error, status, count } = await alice.from('notes').insert({ title: 'inserted plain' }, { count: 'exact' });
    assert.equal(error, null);
    assert.equal(status, 201);
    assert.equal(data, null);
    assert.equal(count, 1);
    const { rows } = await stack.db.query(`select owner, priority, tags from public.notes where title = 'inserted plain'`);
    assert.deepEqual(rows, [{ owner: DEMO_USERS.alice.id, priority: 0, tags: [] }]);
  });

  test('with select(): the representation, typed by Postgres', async () => {
    const { data, error, status } = await alice
      .from('notes')
      .insert({ title: 'typed', views: 5, score: '3.10', meta: { n: [1, 2] }, tags: ['x', 'y'], done: true })
      .select('title, views, score, meta, tags, done')
      .single();
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(status, 201);
    assert.deepEqual(data, { title: 'typed', views: 5, score: 3.1, meta: { n: [1, 2] }, tags: ['x', 'y'], done: true });
  });

  test('an array with different keys: missing keys are null, or the default with defaultToNull false', async () => {
    const { data, error } = await alice
      .from('notes')
      .insert([{ title: 'bulk a', priority: 7 }, { title: 'bulk b' }])
      .select('title, priority')
      .order('title');
    // priority is not null: the second row's missing key becomes null and fails, atomically.
    assert.equal(data, null);
    assert.equal(error?.code, '23502');
    assert.equal(await rowCount(`title like 'bulk %'`), 0);
    const defaulted = await alice
      .from('notes')
      .insert([{ title: 'bulk a', priority: 7 }, { title: 'bulk b' }], { defaultToNull: false })
      .select('title, priority')
      .order('title');
    assert.equal(defaulted.error, null, JSON.stringify(defaulted.error));
    assert.deepEqual(defaulted.data, [
      { title: 'bulk a', priority: 7 },
      { title: 'bulk b', priority: 0 },
    ]);
  });

  test('Prefer: return=headers-only gives a Location with the primary key', async () => {
    const res = await rest(stack, '/notes', {
      method: 'POST',
      token: (await signedInClient(stack, 'alice')).token,
      headers: { 'content-type': 'application/json', prefer: 'return=headers-only' },
      body: JSON.stringify({ id: 500, title: 'located' }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/notes?id=eq.500');
  });

  test('a duplicate key is 409 23505 and nothing changes', async () => {
    const { error, status } = await alice.from('notes').insert({ id: 1, title: 'dupe' });
    assert.equal(status, 409);
    assert.equal(error?.code, '23505');
    assert.match(error!.message, /duplicate key value violates unique constraint "notes_pkey"/);
    // Under RLS Postgres withholds the key values from the caller (they may belong to a row it
    // cannot see); the service role, which bypasses RLS, gets them.
    assert.equal(error?.details, null);
    const asService = await service.from('notes').insert({ id: 1, title: 'dupe', owner: DEMO_USERS.bob.id });
    assert.equal(asService.error?.details, 'Key (id)=(1) already exists.');
  });

  test('a missing foreign row is 409 23503; a check violation 400 23514; a bad value 400 22P02', async () => {
    const fk = await service.from('comments').insert({ note_id: 424242, body: 'orphan', owner: DEMO_USERS.bob.id });
    assert.equal(fk.status, 409);
    assert.equal(fk.error?.code, '23503');
    const check = await alice.from('notes').insert({ title: '' });
    assert.equal(check.status, 400);
    assert.equal(check.error?.code, '23514');
    const bad = await alice.from('notes').insert({ title: 'bad int', priority: 'lots' });
    assert.equal(bad.status, 400);
    assert.equal(bad.error?.code, '22P02');
    assert.equal(await rowCount(`title in ('', 'bad int')`), 0);
  });
});

describe('upserting', () => {
  test('merge-duplicates updates the conflicting row and inserts the new one', async () => {
    const { data, error, status } = await alice
      .from('notes')
      .upsert([{ id: 2, title: 'alice two merged' }, { id: 600, title: 'alice new' }])
      .select('id, title')
      .order('id');
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(status, 201);
    assert.deepEqual(data, [
      { id: 2, title: 'alice two merged' },
      { id: 600, title: 'alice new' },
    ]);
  });

  test('ignore-duplicates keeps the existing row; on_conflict names another unique key', async () => {
    const ignored = await alice.from('notes').upsert({ id: 1, title: 'ignored' }, { ignoreDuplicates: true }).select('id');
    assert.equal(ignored.error, null);
    assert.deepEqual(ignored.data, []);
    const { rows } = await stack.db.query(`select title from public.notes where id = 1`);
    assert.equal(rows[0].title, 'alice one');
    await service.from('categories').insert({ id: 10, name: 'spare' });
    const byName = await service.from('categories').upsert({ id: 11, name: 'spare' }, { onConflict: 'name' }).select();
    assert.equal(byName.error, null, JSON.stringify(byName.error));
    assert.deepEqual(byName.data, [{ id: 11, name: 'spare' }]);
    const { rows: spare } = await stack.db.query(`select id from public.categories where name = 'spare'`);
    assert.deepEqual(spare, [{ id: 11 }]);
  });
});

describe('updating', () => {
  test('PATCH with filters changes only matching visible rows: 204, or 200 with select()', async () => {
    const plain = await alice.from('notes').update({ body: 'patched' }).eq('id', 3);
    assert.equal(plain.status, 204);
    const { data, status } = await alice.from('notes').update({ priority: 9 }).in('id', [1, 3, 4]).select('id, priority').order('id');
    assert.equal(status, 200);
    // Bob's row 4 is invisible to Alice through RLS, so it is not updated.
    assert.deepEqual(data, [
      { id: 1, priority: 9 },
      { id: 3, priority: 9 },
    ]);
    const { rows } = await stack.db.query(`select priority from public.notes where id = 4`);
    assert.equal(rows[0].priority, 5);
  });

  test('single() on an update touching two rows is 406 and rolls back', async () => {
    const { error, status } = await alice.from('notes').update({ body: 'both' }).in('id', [1, 3]).select().single();
    assert.equal(status, 406);
    assert.equal(error?.code, 'PGRST116');
    assert.equal(await rowCount(`body = 'both'`), 0);
  });

  test('count on update reports the number of rows in Content-Range', async () => {
    const { count, error } = await alice.from('notes').update({ done: true }, { count: 'exact' }).eq('id', 3);
    assert.equal(error, null);
    assert.equal(count, 1);
  });
});

describe('deleting', () => {
  test('DELETE with filters removes matching rows; representation returns them', async () => {
    await alice.from('notes').insert([{ id: 700, title: 'doomed a' }, { id: 701, title: 'doomed b' }]);
    const { data, status } = await alice.from('notes').delete().in('id', [700, 701]).select('id').order('id', { ascending: false });
    assert.equal(status, 200);
    assert.deepEqual(data, [{ id: 701 }, { id: 700 }]);
    assert.equal(await rowCount('id in (700, 701)'), 0);
  });

  test("a user cannot delete another user's rows", async () => {
    const { error, status } = await alice.from('notes').delete().eq('id', 5);
    assert.equal(error, null);
    assert.equal(status, 204);
    assert.equal(await rowCount('id = 5'), 1);
  });

  test('Prefer: tx=rollback runs the statement and keeps nothing', async () => {
    const res = await rest(stack, '/notes?id=eq.4', {
      method: 'DELETE',
      token: stack.secretKey,
      headers: { prefer: 'return=representation, tx=rollback' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).map((r: { id: number }) => r.id), [4]);
    assert.equal(await rowCount('id = 4'), 1);
  });
});
