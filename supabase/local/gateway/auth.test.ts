import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { forgedToken } from '../../../testkit/http/tokens.ts';
import { createTestClient } from '../../../testkit/http/clients.ts';
import { DEMO_PASSWORD, DEMO_USERS } from '../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../testkit/http/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.stop();
});

function client(key = stack.publishableKey): SupabaseClient {
  return createTestClient(stack, key);
}

describe('password sign-in', () => {
  for (const [role, user] of Object.entries(DEMO_USERS)) {
    test(`${user.email} signs in and gets GoTrue's claims`, async () => {
      const { data, error } = await client().auth.signInWithPassword({ email: user.email, password: DEMO_PASSWORD });
      assert.equal(error, null);
      assert.equal(data.user?.id, user.id);
      assert.equal(data.user?.email, user.email);
      const claims = JSON.parse(Buffer.from(data.session!.access_token.split('.')[1]!, 'base64url').toString());
      assert.equal(claims.sub, user.id);
      assert.equal(claims.role, 'authenticated');
      assert.equal(claims.aud, 'authenticated');
      assert.equal(typeof claims.session_id, 'string');
      assert.ok(claims.exp > Date.now() / 1000 + 3000);
      assert.equal(claims.app_metadata.role, role === 'admin' || role === 'support' ? role : undefined);
    });
  }

  test('a wrong password is invalid_credentials and creates no session', async () => {
    const before = await stack.db.query('select count(*)::int as n from auth.sessions');
    const { data, error } = await client().auth.signInWithPassword({ email: 'alice@example.com', password: 'nope-nope' });
    assert.equal(data.session, null);
    assert.equal(error?.status, 400);
    assert.equal(error?.code, 'invalid_credentials');
    assert.equal(error?.message, 'Invalid login credentials');
    const afterCount = await stack.db.query('select count(*)::int as n from auth.sessions');
    assert.equal(afterCount.rows[0].n, before.rows[0].n);
  });

  test('an unknown email is the same error as a wrong password', async () => {
    const { error } = await client().auth.signInWithPassword({ email: 'nobody@example.com', password: DEMO_PASSWORD });
    assert.equal(error?.code, 'invalid_credentials');
  });

  test('passwords are stored as bcrypt hashes, never in clear', async () => {
    const { rows } = await stack.db.query(`select encrypted_password from auth.users where email = 'alice@example.com'`);
    assert.match(rows[0].encrypted_password, /^\$2[aby]\$10\$/);
  });
});

describe('sessions', () => {
  test('getUser returns the signed-in user', async () => {
    const supabase = client();
    await supabase.auth.signInWithPassword({ email: 'bob@example.com', password: DEMO_PASSWORD });
    const { data, error } = await supabase.auth.getUser();
    assert.equal(error, null);
    assert.equal(data.user?.email, 'bob@example.com');
  });

  test('refresh rotates the token; the old one replayed later ends the session', async () => {
    const supabase = client();
    const signIn = await supabase.auth.signInWithPassword({ email: 'alice@example.com', password: DEMO_PASSWORD });
    const first = signIn.data.session!;
    const refreshed = await supabase.auth.refreshSession();
    assert.equal(refreshed.error, null);
    const second = refreshed.data.session!;
    assert.notEqual(second.refresh_token, first.refresh_token);
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
    assert.equal(claims(second.access_token).session_id, claims(first.access_token).session_id);

    // Within GoTrue's reuse interval the old token yields the session's current token.
    const replay = await client().auth.refreshSession({ refresh_token: first.refresh_token });
    assert.equal(replay.error, null);
    assert.equal(replay.data.session?.refresh_token, second.refresh_token);

    // After the interval a replay is treated as a leak: error, and the session is gone.
    await stack.db.query(`update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = $1`, [
      first.refresh_token,
    ]);
    const late = await client().auth.refreshSession({ refresh_token: first.refresh_token });
    assert.equal(late.error?.code, 'refresh_token_already_used');
    const gone = await client().auth.refreshSession({ refresh_token: second.refresh_token });
    assert.ok(gone.error, 'the rotated token of an ended session no longer works');
  });

  test('an unknown refresh token is refused', async () => {
    const { error } = await client().auth.refreshSession({ refresh_token: 'not-a-token' });
    assert.equal(error?.code, 'refresh_token_not_found');
  });

  test('logout ends the session server-side', async () => {
    const supabase = client();
    const { data } = await supabase.auth.signInWithPassword({ email: 'bob@example.com', password: DEMO_PASSWORD });
    const token = data.session!.access_token;
    const { error } = await supabase.auth.signOut();
    assert.equal(error, null);
    // GoTrue answers 403 session_not_found; auth-js turns that into AuthSessionMissingError.
    const raw = await fetch(`${stack.apiUrl}/auth/v1/user`, {
      headers: { apikey: stack.publishableKey, authorization: `Bearer ${token}`, 'x-supabase-api-version': '2024-01-01' },
    });
    assert.equal(raw.status, 403);
    assert.equal((await raw.json()).code, 'session_not_found');
    const after = await client().auth.getUser(token);
    assert.equal(after.data.user, null);
    assert.equal(after.error?.name, 'AuthSessionMissingError');
  });

  test('forged, expired and wrongly signed tokens are refused by getUser', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: DEMO_USERS.alice.id, role: 'authenticated', aud: 'authenticated' };
    const wrongKey = await forgedToken(stack, { ...claims, exp: now + 60 });
    const expired = await stack.keys.tokens.sign({ ...claims, exp: now - 10 });
    const [header, payload] = (await stack.keys.tokens.sign({ ...claims, exp: now + 60 })).split('.');
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    for (const token of [wrongKey, expired, unsigned, `${header}.${payload}.AAAA`, 'garbage']) {
      const { data, error } = await client().auth.getUser(token);
      assert.equal(data.user, null);
      assert.equal(error?.status, 403, `token ${token.slice(0, 20)} must be refused`);
    }
  });
});

describe('admin create user', () => {
  test('the service role creates a confirmed user who can then sign in', async () => {
    const admin = client(stack.secretKey);
    const email = `created-${Date.now()}@example.com`;
    const { data, error } = await admin.auth.admin.createUser({
      email,
      password: 'secret-password',
      email_confirm: true,
      app_metadata: { role: 'support' },
      user_metadata: { name: 'Created' },
    });
    assert.equal(error, null);
    assert.equal(data.user?.email, email);
    assert.equal(data.user?.app_metadata.role, 'support');
    const signIn = await client().auth.signInWithPassword({ email, password: 'secret-password' });
    assert.equal(signIn.error, null);
  });

  test('a duplicate email is email_exists', async () => {
    const { error } = await client(stack.secretKey).auth.admin.createUser({
      email: 'alice@example.com',
      password: 'secret-password',
    });
    assert.equal(error?.status, 422);
    assert.equal(error?.code, 'email_exists');
  });

  test('the anon key cannot create users', async () => {
    const before = await stack.db.query('select count(*)::int as n from auth.users');
    const { error } = await client().auth.admin.createUser({ email: 'sneaky@example.com', password: 'secret-password' });
    assert.equal(error?.status, 403);
    const afterCount = await stack.db.query('select count(*)::int as n from auth.users');
    assert.equal(afterCount.rows[0].n, before.rows[0].n);
  });
});

describe('sign-up', () => {
  test('is off, as config.toml says: 422 signup_disabled, as hosted answers, and no user is created', async () => {
    const before = await stack.db.query('select count(*)::int as n from auth.users');
    const { data, error } = await client().auth.signUp({ email: 'newcomer@example.com', password: 'a-long-password' });
    assert.equal(error?.status, 422);
    assert.equal(error?.code, 'signup_disabled');
    assert.equal(error?.message, 'Signups not allowed for this instance');
    assert.equal(data.user, null);
    const afterCount = await stack.db.query('select count(*)::int as n from auth.users');
    assert.equal(afterCount.rows[0].n, before.rows[0].n);
  });
});

describe('API keys', () => {
  test('a request without an API key is refused by the gateway', async () => {
    const res = await fetch(`${stack.apiUrl}/auth/v1/user`);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { message: 'No API key found in request' });
  });
  test('an unknown API key is refused', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/`, { headers: { apikey: 'x.y.z' } });
    assert.equal(res.status, 401);
  });

  describe('the secret key from a browser', () => {
    // What a browser sends (Chromium's User-Agent); the official client's requests carry it as a
    // browser's would.
    const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36';
    const fromBrowser = (key: string) =>
      createTestClient(stack, key, { headers: { 'user-agent': BROWSER } });

    test('is refused with 401 on every API, as hosted refuses it', async () => {
      const secret = fromBrowser(stack.secretKey);
      const rest = await secret.from('models').select('id');
      assert.equal(rest.status, 401);
      assert.equal(rest.error?.message, 'Forbidden use of secret API key in browser');
      const users = await secret.auth.admin.listUsers();
      assert.equal(users.error?.status, 401);
      const download = await secret.storage.from('results').list();
      assert.ok(download.error, 'Storage refuses it too');
      const invoke = await fetch(`${stack.apiUrl}/functions/v1/job-worker`, {
        method: 'POST',
        headers: { 'user-agent': BROWSER, apikey: stack.secretKey, authorization: `Bearer ${stack.secretKey}` },
      });
      assert.equal(invoke.status, 401);
      assert.deepEqual(await invoke.json(), { message: 'Forbidden use of secret API key in browser' });
    });

    test('is refused when it comes only as the bearer token', async () => {
      const res = await fetch(`${stack.apiUrl}/rest/v1/models?select=id`, {
        headers: { 'user-agent': BROWSER, apikey: stack.publishableKey, authorization: `Bearer ${stack.secretKey}` },
      });
      assert.equal(res.status, 401);
    });

    test('the same key from a server works, and the publishable key works from a browser', async () => {
      const server = await client(stack.secretKey).from('models').select('id');
      assert.equal(server.error, null);
      assert.ok(server.data!.length > 0);
      const browser = fromBrowser(stack.publishableKey);
      const signIn = await browser.auth.signInWithPassword({ email: DEMO_USERS.alice.email, password: DEMO_PASSWORD });
      assert.equal(signIn.error, null);
      const models = await browser.from('models').select('id');
      assert.equal(models.error, null);
      assert.ok(models.data!.length > 0);
    });
  });
});
