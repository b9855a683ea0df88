import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forgedToken } from '../../../../testkit/http/tokens.ts';
import { createTestClient, signedInClient, type FixtureSchema } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { type TestStack } from '../../../../testkit/http/stack.ts';
import { rest, startRestStack } from '../../../../testkit/http/rest-fixture.ts';
import { until } from '../../../../testkit/wait.ts';

let stack: TestStack;
before(async () => {
  stack = await startRestStack();
});
after(async () => {
  await stack.stop();
});

async function countNotes(): Promise<number> {
  const { rows } = await stack.db.query('select count(*)::int as n from public.notes');
  return rows[0].n;
}

describe('row level security through the API', () => {
  for (const user of ['alice', 'bob'] as const) {
    test(`${user} sees exactly their own rows`, async () => {
      const client = (await signedInClient<FixtureSchema>(stack, user)).client;
      const { data, error } = await client.from('notes').select('id, owner');
      assert.equal(error, null);
      const { rows } = await stack.db.query('select id from public.notes where owner = $1 order by id', [DEMO_USERS[user].id]);
      assert.deepEqual(data!.map((r) => r.id).sort((a, b) => a - b), rows.map((r) => Number(r.id)));
      assert.ok(data!.every((r) => r.owner === DEMO_USERS[user].id));
    });
  }

  test('anon sees nothing (no policy for anon) and cannot insert', async () => {
    const anon = createTestClient<FixtureSchema>(stack, stack.publishableKey);
    const { data, error } = await anon.from('notes').select('id');
    assert.equal(error, null);
    assert.deepEqual(data, []);
    const before = await countNotes();
    const insert = await anon.from('notes').insert({ title: 'anon', owner: DEMO_USERS.alice.id });
    assert.equal(insert.status, 401);
    assert.equal(insert.error?.code, '42501');
    assert.equal(await countNotes(), before);
  });

  test("inserting a row owned by someone else is 403 42501 'new row violates row-level security policy'", async () => {
    const alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
    const before = await countNotes();
    const { error, status } = await alice.from('notes').insert({ title: 'forged owner', owner: DEMO_USERS.bob.id });
    assert.equal(status, 403);
    assert.equal(error?.code, '42501');
    assert.match(error!.message, /^new row violates row-level security policy/);
    assert.equal(await countNotes(), before);
  });

  test('the service role sees every row', async () => {
    const service = createTestClient<FixtureSchema>(stack, stack.secretKey);
    const { data } = await service.from('notes').select('id');
    assert.equal(data?.length, await countNotes());
  });

  test('claims reach SQL as request.jwt.claims and the role is the token role', async () => {
    const alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
    await stack.db.query(`create function public.claims() returns jsonb language sql stable
      as $$ select jsonb_build_object('role', current_user, 'email', auth.jwt() ->> 'email',
        'method', current_setting('request.method', true), 'path', current_setting('request.path', true),
        'has_headers', current_setting('request.headers', true)::jsonb ? 'apikey',
        'timeout', current_setting('statement_timeout'), 'lock_timeout', current_setting('lock_timeout')) $$;
      notify pgrst, 'reload schema'`);
    // The reload is asynchronous: wait for the function to appear.
    const result = await until(
      async () => {
        const answer = await alice.rpc('claims');
        return answer.status !== 404 && answer;
      },
      { label: 'the schema cache to serve rpc/claims' },
    );
    assert.deepEqual(result.data, {
      role: 'authenticated',
      email: 'alice@example.com',
      method: 'POST',
      path: '/rpc/claims',
      has_headers: true,
      timeout: '8s',
      lock_timeout: '8s',
    });
    const anon = await createTestClient<FixtureSchema>(stack, stack.publishableKey).rpc('claims');
    assert.equal((anon.data as { role: string }).role, 'anon');
    assert.equal((anon.data as { timeout: string }).timeout, '3s');
    // The service role has no timeout of its own: authenticator's 8 s applies, as on hosted.
    const service = await createTestClient<FixtureSchema>(stack, stack.secretKey).rpc('claims');
    assert.deepEqual([(service.data as { role: string }).role, (service.data as { timeout: string }).timeout, (service.data as { lock_timeout: string }).lock_timeout], ['service_role', '8s', '8s']);
  });

  test('the API roles are INHERIT and granted to postgres; authenticator may only switch to them', async () => {
    const { rows } = await stack.db.query(`select rolname, rolinherit,
        exists (select 1 from pg_auth_members m where m.roleid = r.oid and m.member = 'postgres'::regrole) as granted_to_postgres
      from pg_roles r where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by rolname`);
    assert.deepEqual(rows, [
      { rolname: 'anon', rolinherit: true, granted_to_postgres: true },
      { rolname: 'authenticated', rolinherit: true, granted_to_postgres: true },
      { rolname: 'authenticator', rolinherit: false, granted_to_postgres: false },
      { rolname: 'service_role', rolinherit: true, granted_to_postgres: true },
    ]);
  });
});

describe('JWT verification', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = { sub: DEMO_USERS.alice.id, role: 'authenticated', aud: 'authenticated' };

  const cases: [string, () => Promise<string> | string, string, string][] = [
    ['an expired token', () => stack.keys.tokens.sign({ ...claims, exp: now() - 10 }), 'PGRST303', 'JWT expired'],
    [
      'a token signed with another key',
      () => forgedToken(stack, { ...claims, exp: now() + 60 }),
      'PGRST301',
      'JWT cryptographic operation failed',
    ],
    ['a malformed token', () => 'not-a-jwt', 'PGRST301', 'Expected 3 parts in JWT; got 1'],
    [
      'an unsigned alg=none token',
      async () => {
        const [, payload] = (await stack.keys.tokens.sign({ ...claims, exp: now() + 60 })).split('.');
        return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      },
      'PGRST301',
      'Wrong or unsupported encoding algorithm',
    ],
  ];
  for (const [name, token, code, message] of cases) {
    test(`${name} is 401 ${code} and reads nothing`, async () => {
      const res = await rest(stack, '/notes?select=id', { token: await token() });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.code, code);
      assert.equal(body.message, message);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    });
  }

  test('a forged token cannot write either', async () => {
    const before = await countNotes();
    const forged = await forgedToken(stack, { ...claims, exp: now() + 60 });
    const res = await rest(stack, '/notes', {
      method: 'POST',
      token: forged,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'forged' }),
    });
    assert.equal(res.status, 401);
    assert.equal(await countNotes(), before);
  });

  test('a role claim naming no role is 401 22023; a role authenticator may not become is 403', async () => {
    const unknown = await rest(stack, '/notes', { token: await stack.keys.tokens.sign({ role: 'nobody_at_all', exp: now() + 60 }) });
    assert.equal(unknown.status, 401);
    const body = await unknown.json();
    assert.equal(body.code, '22023');
    assert.equal(body.message, 'role "nobody_at_all" does not exist');
    const superuser = await rest(stack, '/notes', { token: await stack.keys.tokens.sign({ role: 'postgres', exp: now() + 60 }) });
    assert.equal(superuser.status, 403);
    assert.equal((await superuser.json()).code, '42501');
  });

  test('a token without a role claim runs as anon', async () => {
    const res = await rest(stack, '/rpc/whoami', {
      method: 'POST',
      token: await stack.keys.tokens.sign({ sub: DEMO_USERS.bob.id, exp: now() + 60 }),
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), DEMO_USERS.bob.id);
  });
});
