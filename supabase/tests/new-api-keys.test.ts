import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEFAULT_JWT_SECRET } from '../local/config.ts';
import { legacyApiKeys, signHs256 } from '../local/jwt.ts';
import type { Scheduler } from '../local/scheduler.ts';
import { startWorkerDispatch } from '../local/worker-dispatch.ts';
import { createTestClient, signedInClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { nowSeconds } from '../../testkit/http/tokens.ts';
import { until } from '../../testkit/wait.ts';
import { FLASH, jobRow, startWorkerFixture, type WorkerFixture } from './job-worker/worker-fixture.ts';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges } from '../../lib/admin-jobs/admin-job-change.ts';

// A project with its legacy keys switched off (SUPABASE_LEGACY_KEYS=off), driven only with the
// official client and the publishable and secret keys: what a new hosted project looks like.
let f: WorkerFixture;
let dispatch: Scheduler;
let alice: DatabaseClient;
let accessToken: string;

before(async () => {
  f = await startWorkerFixture({ functions: { instances: 1 }, legacyKeys: false });
  dispatch = await startWorkerDispatch({ dbUrl: f.stack.dbUrl, apiUrl: f.stack.apiUrl, secretKey: f.stack.secretKey, sweepMs: 2_000 });
  ({ client: alice, token: accessToken } = await signedInClient(f.stack, 'alice'));
});
after(async () => {
  await alice?.removeAllChannels();
  await dispatch?.stop();
  await f?.stop();
});

describe('a project with only the new keys', () => {
  test('has no legacy keys to hand out', () => {
    assert.match(f.stack.publishableKey, /^sb_publishable_/);
    assert.match(f.stack.secretKey, /^sb_secret_/);
    assert.equal(f.stack.anonKey, undefined);
    assert.equal(f.stack.serviceRoleKey, undefined);
  });

  test("signs alice in with an ES256 token whose kid is in the JWKS, and it verifies against it", async () => {
    const header = decodeProtectedHeader(accessToken);
    assert.equal(header.alg, 'ES256');
    const jwks = await (await fetch(`${f.stack.apiUrl}/auth/v1/.well-known/jwks.json`)).json();
    assert.ok(jwks.keys.some((k: { kid: string }) => k.kid === header.kid), 'the kid names a published key');
    assert.ok(jwks.keys.every((k: Record<string, unknown>) => k.d === undefined), 'the JWKS holds public keys only');
    const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${f.stack.apiUrl}/auth/v1/.well-known/jwks.json`)));
    assert.equal(payload.sub, DEMO_USERS.alice.id);
  });

  test('getClaims() returns her id, verified locally against the JWKS', async () => {
    const { data, error } = await alice.auth.getClaims();
    assert.equal(error, null);
    assert.equal(data!.claims.sub, DEMO_USERS.alice.id);
    assert.equal(data!.header.alg, 'ES256');
  });

  test('REST works as her with the publishable key, and as the service with the secret key', async () => {
    const own = await alice.from('credit_accounts').select('user_id');
    assert.equal(own.error, null);
    assert.deepEqual(own.data!.map((r) => r.user_id), [DEMO_USERS.alice.id]);
    const service = createTestClient(f.stack, f.stack.secretKey);
    const all = await service.from('credit_accounts').select('user_id');
    assert.equal(all.error, null);
    assert.ok(all.data!.length >= 2, 'the secret key bypasses RLS as service_role');
    const anon = await createTestClient(f.stack, f.stack.publishableKey).from('credit_accounts').select('user_id');
    assert.equal(anon.error?.code, '42501', 'the publishable key alone is anon, which may read no account');
  });

  test('refuses the legacy keys, HS256 tokens and an unknown key', async () => {
    const legacy = await legacyApiKeys(DEFAULT_JWT_SECRET);
    const rest = (apikey: string, bearer?: string) =>
      fetch(`${f.stack.apiUrl}/rest/v1/models?select=id`, { headers: { apikey, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) } });
    assert.equal((await rest(legacy.anonKey, legacy.anonKey)).status, 401);
    assert.equal((await rest(legacy.serviceRoleKey, legacy.serviceRoleKey)).status, 401);
    assert.equal((await rest(`${f.stack.secretKey}x`)).status, 401);
    const hs256 = await signHs256({ sub: DEMO_USERS.alice.id, role: 'authenticated', exp: nowSeconds() + 60 }, DEFAULT_JWT_SECRET);
    const refused = await rest(f.stack.publishableKey, hs256);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).code, 'PGRST301');
  });

  test('Realtime delivers her postgres_changes and the private admin broadcast to staff', async () => {
    const changes: string[] = [];
    const channel = alice
      .channel('own-jobs')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'jobs', filter: `user_id=eq.${DEMO_USERS.alice.id}` }, (e) =>
        changes.push((e.new as { id: string }).id),
      );
    await new Promise<void>((resolve, reject) =>
      channel.subscribe((status, err) => (status === 'SUBSCRIBED' ? resolve() : status === 'CHANNEL_ERROR' ? reject(err) : undefined)),
    );
    const { client: admin } = await signedInClient(f.stack, 'admin');
    const broadcasts: string[] = [];
    const topic = admin
      .channel(ADMIN_JOBS_TOPIC, { config: { private: true } })
      .on('broadcast', { event: ADMIN_JOBS_EVENT }, (m) => broadcasts.push(...parseAdminJobChanges(m.payload).map((c) => c.id)));
    await new Promise<void>((resolve, reject) =>
      topic.subscribe((status, err) => (status === 'SUBSCRIBED' ? resolve() : status === 'CHANNEL_ERROR' ? reject(err) : undefined)),
    );
    const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: 'a heron at first light' });
    assert.equal(error, null);
    await until(() => changes.includes(job.id), { label: 'her postgres_changes insert' });
    await until(() => broadcasts.includes(job.id), { label: 'the private admin broadcast' });
    await admin.removeAllChannels();
  });

  test('Storage: the service uploads with the secret key, she reads her own object with the publishable key', async () => {
    const service = createTestClient(f.stack, f.stack.secretKey);
    const path = `${DEMO_USERS.alice.id}/new-keys.png`;
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    assert.equal((await service.storage.from('results').upload(path, png, { contentType: 'image/png', upsert: true })).error, null);
    const download = await alice.storage.from('results').download(path);
    assert.equal(download.error, null);
    assert.equal(download.data!.size, png.length);
  });

  test('the worker runs her job to the end when invoked with the secret key, and refuses her and the publishable key', async () => {
    const url = `${f.stack.apiUrl}/functions/v1/job-worker`;
    const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', headers, body: '{}' });
    assert.equal((await post({ apikey: f.stack.publishableKey })).status, 403);
    assert.equal((await post({ apikey: f.stack.publishableKey, authorization: `Bearer ${accessToken}` })).status, 403);
    const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: 'a lighthouse in fog' });
    assert.equal(error, null);
    const done = await until(async () => {
      const row = await jobRow(f.db, job.id);
      return row.status === 'succeeded' || row.status === 'failed' ? row : undefined;
    }, { timeoutMs: 60_000, label: 'the job to finish' });
    assert.equal(done.status, 'succeeded');
    const image = await alice.storage.from('results').download(done.result!.path as string);
    assert.equal(image.error, null);
  });
});
