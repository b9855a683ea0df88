import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient, signedInClient, type FixtureSchema } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { type TestStack } from '../../../../testkit/http/stack.ts';
import { rest, startRestStack } from '../../../../testkit/http/rest-fixture.ts';

let stack: TestStack;
let alice: SupabaseClient;
let bob: SupabaseClient;
let anon: SupabaseClient;
let service: SupabaseClient;
before(async () => {
  stack = await startRestStack();
  alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
  bob = (await signedInClient<FixtureSchema>(stack, 'bob')).client;
  anon = createTestClient<FixtureSchema>(stack, stack.publishableKey);
  service = createTestClient<FixtureSchema>(stack, stack.secretKey);
});
after(async () => {
  await stack.stop();
});

describe('calling functions', () => {
  test('a function runs as the caller: auth.uid() is their id', async () => {
    assert.deepEqual((await alice.rpc('whoami')).data, DEMO_USERS.alice.id);
    assert.deepEqual((await bob.rpc('whoami')).data, DEMO_USERS.bob.id);
    const asAnon = await anon.rpc('whoami');
    assert.equal(asAnon.error, null);
    assert.equal(asAnon.data, null);
  });

  test('scalar results with named arguments, defaults and GET', async () => {
    assert.equal((await alice.rpc('add', { a: 2, b: 3 })).data, 5);
    assert.equal((await alice.rpc('add', { a: 2 })).data, 12);
    const viaGet = await alice.rpc('add', { a: '4', b: '1' }, { get: true });
    assert.equal(viaGet.error, null);
    assert.equal(viaGet.data, 5);
  });

  test('overloads are chosen by argument names', async () => {
    assert.equal((await alice.rpc('greet', { name: 'ann' })).data, 'hello ann');
    assert.equal((await alice.rpc('greet', { name: 'ann', loud: true })).data, 'HELLO ANN');
  });

  test('set-returning functions answer arrays that filters, order and limit shape', async () => {
    const { data, error } = await alice.rpc('my_notes', { min_priority: 2 }).select('id, title').order('id', { ascending: false });
    assert.equal(error, null, JSON.stringify(error));
    // RLS applies inside the function: only Alice's rows, never Bob's priority-5 note.
    assert.deepEqual(data, [
      { id: 3, title: 'alice three' },
      { id: 2, title: 'alice two' },
    ]);
    const filtered = await alice.rpc('my_notes').eq('done', true);
    assert.deepEqual(filtered.data?.map((r: { id: number }) => r.id), [2]);
    const table = await service.rpc('note_titles').gte('priority', 3).limit(1);
    assert.deepEqual(table.data, [{ title: 'alice three', priority: 3 }]);
    const numbers = await alice.rpc('numbers', { n: 3 });
    assert.deepEqual(numbers.data, [1, 2, 3]);
  });

  test('count and single() apply to function results', async () => {
    const counted = await alice.rpc('my_notes', {}, { count: 'exact' }).range(0, 0);
    assert.equal(counted.count, 3);
    const one = await alice.rpc('my_notes').eq('id', 1).single();
    assert.deepEqual((one.data as { id: number }).id, 1);
  });

  test('void functions answer 204 and data null; their writes commit', async () => {
    const { data, error, status } = await alice.rpc('noop');
    assert.equal(error, null);
    assert.equal(status, 204);
    assert.equal(data, null);
    await alice.rpc('bump_views', { note: 1 });
    const { rows } = await stack.db.query('select views from public.notes where id = 1');
    assert.equal(rows[0].views, '11');
  });

  test('GET runs read-only: a writing function is 405 25006', async () => {
    const { error, status } = await alice.rpc('bump_views', { note: 1 }, { get: true });
    assert.equal(status, 405);
    assert.equal(error?.code, '25006');
  });

  test('array and json arguments convert from JSON; a single unnamed jsonb parameter takes the body', async () => {
    assert.equal((await alice.rpc('sum_array', { xs: [1, 2, 3] })).data, 6);
    assert.equal((await alice.rpc('sum_array', { xs: [4, 5] }, { get: true })).data, 9);
    assert.deepEqual((await alice.rpc('echo_json', { any: ['shape', 1] })).data, { any: ['shape', 1] });
  });
});

describe('function errors', () => {
  test('raise exception is 400 P0001 with its message, detail and hint', async () => {
    const { error, status } = await alice.rpc('fail_with', { msg: 'custom failure' });
    assert.equal(status, 400);
    assert.deepEqual(error, { code: 'P0001', message: 'custom failure', details: 'raised on purpose', hint: 'do not call it' });
  });

  test("SQLSTATE 'PTnnn' sets the HTTP status", async () => {
    const { error, status } = await alice.rpc('pay');
    assert.equal(status, 402);
    assert.equal(error?.code, 'PT402');
    assert.equal(error?.message, 'Payment required');
    assert.equal(error?.details, 'no credits left');
  });

  test('an unknown function or argument name is 404 PGRST202', async () => {
    const missing = await alice.rpc('no_such_function');
    assert.equal(missing.status, 404);
    assert.equal(missing.error?.code, 'PGRST202');
    const wrongArg = await alice.rpc('add', { x: 1 });
    assert.equal(wrongArg.status, 404);
    assert.equal(wrongArg.error?.code, 'PGRST202');
    assert.match(wrongArg.error!.message, /public\.add\(x\)/);
  });

  test('execute privilege: 401 for anon, 403 for a signed-in user, allowed for the service role', async () => {
    const asAnon = await anon.rpc('service_only');
    assert.equal(asAnon.status, 401);
    assert.equal(asAnon.error?.code, '42501');
    const asUser = await alice.rpc('service_only');
    assert.equal(asUser.status, 403);
    assert.equal(asUser.error?.code, '42501');
    assert.equal((await service.rpc('service_only')).data, 'secret');
  });

  test('PATCH on /rpc is 405 PGRST101', async () => {
    const res = await rest(stack, '/rpc/noop', { method: 'PATCH', token: (await signedInClient(stack, 'alice')).token });
    assert.equal(res.status, 405);
    assert.equal((await res.json()).code, 'PGRST101');
  });
});
