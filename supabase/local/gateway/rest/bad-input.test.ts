import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient, signedInClient, type FixtureSchema } from '../../../../testkit/http/clients.ts';
import { type TestStack } from '../../../../testkit/http/stack.ts';
import { rest, startRestStack } from '../../../../testkit/http/rest-fixture.ts';

let stack: TestStack;
let alice: SupabaseClient;
let aliceToken: string;
let snapshot: string;
before(async () => {
  stack = await startRestStack();
  alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
  aliceToken = (await signedInClient(stack, 'alice')).token;
  snapshot = await tableSnapshot();
});
after(async () => {
  await stack.stop();
});

/** Every row of the tables the requests aim at: a refused request must leave them identical. */
async function tableSnapshot(): Promise<string> {
  const { rows } = await stack.db.query(`select
    (select json_agg(n order by id) from public.notes n)::text as notes,
    (select json_agg(c order by id) from public.comments c)::text as comments`);
  return JSON.stringify(rows[0]);
}

async function expectError(path: string, status: number, code: string, init: RequestInit = {}) {
  const res = await rest(stack, path, { token: aliceToken, ...init });
  const body = await res.json();
  assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
  assert.equal(body.code, code, `${path}: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'hint', 'message']);
  return body;
}

describe('malformed requests get PostgREST codes and change nothing', () => {
  test('malformed filters, select, order, limit are 400 PGRST100', async () => {
    await expectError('/notes?id=eqq.1', 400, 'PGRST100');
    await expectError('/notes?id=1', 400, 'PGRST100');
    await expectError('/notes?id=in.1,2', 400, 'PGRST100');
    await expectError('/notes?done=is.maybe', 400, 'PGRST100');
    await expectError('/notes?or=(id.eq.1', 400, 'PGRST100');
    await expectError('/notes?select=id,(title', 400, 'PGRST100');
    await expectError('/notes?select=comments(body', 400, 'PGRST100');
    await expectError('/notes?order=id.sideways', 400, 'PGRST100');
    await expectError('/notes?limit=-1', 400, 'PGRST100');
  });

  test('supabase-js surfaces the same errors', async () => {
    const { error, status } = await alice.from('notes').select('id').filter('id', 'eqq', 1);
    assert.equal(status, 400);
    assert.equal(error?.code, 'PGRST100');
  });

  test('unknown columns: 42703 on reads, PGRST204 on writes; unknown table 404 PGRST205', async () => {
    const read = await alice.from('notes').select('id, nope');
    assert.equal(read.status, 400);
    assert.equal(read.error?.code, '42703');
    assert.equal(read.error?.message, 'column notes.nope does not exist');
    await expectError('/notes?nope=eq.1', 400, '42703');
    await expectError('/notes?order=nope', 400, '42703');
    await expectError('/notes?nope=eq.1', 400, '42703', { method: 'DELETE' });
    const write = await alice.from('notes').insert({ title: 'x', nope: 1 });
    assert.equal(write.status, 400);
    assert.equal(write.error?.code, 'PGRST204');
    assert.equal(write.error?.message, "Could not find the 'nope' column of 'notes' in the schema cache");
    const patch = await alice.from('notes').update({ nope: 1 }).eq('id', 1);
    assert.equal(patch.error?.code, 'PGRST204');
    const table = await alice.from('no_such_table').select('*');
    assert.equal(table.status, 404);
    assert.equal(table.error?.code, 'PGRST205');
    assert.equal(await tableSnapshot(), snapshot);
  });

  test('invalid JSON bodies are 400 PGRST102', async () => {
    const json = { 'content-type': 'application/json' };
    await expectError('/notes', 400, 'PGRST102', { method: 'POST', headers: json, body: '{"title": ' });
    await expectError('/notes', 400, 'PGRST102', { method: 'POST', headers: json, body: '' });
    await expectError('/notes', 400, 'PGRST102', { method: 'POST', headers: json, body: '[1, 2]' });
    await expectError('/notes?id=eq.1', 400, 'PGRST102', { method: 'PATCH', headers: json, body: 'not json' });
    await expectError('/rpc/add', 400, 'PGRST102', { method: 'POST', headers: json, body: '{"a": 1' });
    const mismatched = await expectError('/notes', 400, 'PGRST102', {
      method: 'POST',
      headers: json,
      body: JSON.stringify([{ title: 'a' }, { body: 'b' }]),
    });
    assert.equal(mismatched.message, 'All object keys must match');
    assert.equal(await tableSnapshot(), snapshot);
  });

  test('Accept types that cannot be produced are 406 PGRST107', async () => {
    await expectError('/notes', 406, 'PGRST107', { headers: { accept: 'text/xml' } });
  });

  test('a schema other than public is 406 PGRST106', async () => {
    await expectError('/users', 406, 'PGRST106', { headers: { 'accept-profile': 'auth' } });
    const { error, status } = await alice.schema('auth').from('users').select('*');
    assert.equal(status, 406);
    assert.equal(error?.code, 'PGRST106');
  });
});

describe('hostile input is refused or treated as plain data', () => {
  const hostile = [
    `"; drop table notes; --`,
    `a'b`,
    `id),(select 1`,
    `x\\y\\`,
    `ünïcødé ✓ 𝔘`,
    `') or 1=1 --`,
    `$1`,
    `*/ select pg_sleep(1) /*`,
  ];

  /** PostgREST's quoting inside `in.(...)` and logic trees: double quotes, backslash escapes. */
  const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

  for (const value of hostile) {
    test(`as a filter value: ${JSON.stringify(value)}`, async () => {
      const eq = await alice.from('notes').select('id').eq('title', value);
      assert.equal(eq.error, null);
      assert.deepEqual(eq.data, []);
      const inList = await alice.from('notes').select('id').filter('title', 'in', `(${quoted(value)},"alice one")`);
      assert.equal(inList.error, null);
      assert.deepEqual(inList.data, [{ id: 1 }]);
      const orTree = await alice.from('notes').select('id').or(`title.eq.${quoted(value)},id.eq.2`);
      assert.equal(orTree.error, null, JSON.stringify(orTree.error));
      assert.deepEqual(orTree.data, [{ id: 2 }]);
      const json = await alice.from('notes').select('id').eq('meta->>color', value);
      assert.deepEqual(json.data, []);
    });

    test(`as an identifier: ${JSON.stringify(value)}`, async () => {
      const asColumn = await alice.from('notes').select(value);
      assert.ok(asColumn.error, 'a hostile select must be refused');
      assert.ok(['42703', 'PGRST100'].includes(asColumn.error.code), JSON.stringify(asColumn.error));
      const asOrder = await rest(stack, `/notes?order=${encodeURIComponent(value)}`, { token: aliceToken });
      assert.equal(asOrder.status, 400);
      const asFilter = await rest(stack, `/notes?${encodeURIComponent(value)}=eq.1`, { token: aliceToken });
      assert.equal(asFilter.status, 400);
      const asAlias = await alice.from('notes').select(`"${value.replace(/"/g, '')}":title`).eq('id', 1);
      if (!asAlias.error) assert.deepEqual(Object.values(asAlias.data![0]!), ['alice one']);
      const asCast = await rest(stack, `/notes?select=title::${encodeURIComponent(value)}`, { token: aliceToken });
      assert.equal(asCast.status, 400);
      const asTable = await rest(stack, `/${encodeURIComponent(value)}`, { token: aliceToken });
      assert.equal(asTable.status, 404);
      const asFunction = await rest(stack, `/rpc/${encodeURIComponent(value)}`, { method: 'POST', token: aliceToken, body: '{}' });
      assert.equal(asFunction.status, 404);
    });

    test(`as data written and read back: ${JSON.stringify(value)}`, async () => {
      const { data, error } = await alice.from('notes').insert({ title: value, meta: { [value]: value }, tags: [value] }).select('id, title, meta, tags').single();
      assert.equal(error, null, JSON.stringify(error));
      assert.equal(data.title, value);
      assert.deepEqual(data.meta, { [value]: value });
      assert.deepEqual(data.tags, [value]);
      const found = await alice.from('notes').select('id').eq('title', value);
      assert.deepEqual(found.data, [{ id: data.id }]);
      await alice.from('notes').delete().eq('id', data.id);
    });
  }

  test('NUL bytes are refused as identifiers and as values', async () => {
    const alias = await rest(stack, '/notes?select=%22a%00b%22:title', { token: aliceToken });
    assert.equal(alias.status, 400);
    assert.equal((await alias.json()).code, 'PGRST100');
    const value = await rest(stack, '/notes?title=eq.a%00b', { token: aliceToken });
    assert.equal(value.status, 400);
  });

  test('the tables are intact afterwards', async () => {
    assert.equal(await tableSnapshot(), snapshot);
    const { rows } = await stack.db.query(`select to_regclass('public.notes') is not null as exists`);
    assert.equal(rows[0].exists, true);
  });
});

describe('service keys are not user input', () => {
  test('the anon key grants only anon', async () => {
    const anon = createTestClient<FixtureSchema>(stack, stack.publishableKey);
    const { data } = await anon.from('notes').select('id');
    assert.deepEqual(data, []);
  });
});
