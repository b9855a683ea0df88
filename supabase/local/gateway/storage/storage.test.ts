import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { drawPromptImage } from '../../gemini/image.ts';
import { forgedToken } from '../../../../testkit/http/tokens.ts';
import { createTestClient, signedInClient } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { createStorageService } from './index.ts';

let stack: TestStack;
let root: string;
let service: SupabaseClient;
let alice: SupabaseClient;
let bob: SupabaseClient;
let anon: SupabaseClient;

const png = drawPromptImage('a result for alice', 64, 48);

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-test-'));
  stack = await startTestStack({ services: { '/storage/v1': (ctx) => createStorageService(ctx, { root }) } });
  // The policies a project would write: uploads are written into the user's own folder. Bucket
  // `results` and its policy (users read objects under their own id) come from the migrations.
  await stack.db.query(`
    create policy "upload into own folder" on storage.objects for insert to authenticated
      with check (bucket_id = 'uploads' and (storage.foldername(name))[1] = auth.uid()::text);
    create policy "read own uploads" on storage.objects for select to authenticated
      using (bucket_id = 'uploads' and owner = auth.uid());
  `);
  service = createTestClient(stack, stack.secretKey);
  anon = createTestClient(stack, stack.publishableKey);
  alice = (await signedInClient(stack, 'alice')).client;
  bob = (await signedInClient(stack, 'bob')).client;
  for (const [id, isPublic] of [['uploads', false], ['public-assets', true]] as const) {
    const { data, error } = await service.storage.createBucket(id, { public: isPublic });
    assert.equal(error, null);
    assert.equal(data?.name, id);
  }
});
after(async () => {
  await stack.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const aliceKey = (name: string) => `${DEMO_USERS.alice.id}/${name}`;
const filesOnDisk = () => fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());

async function uploadResult(name: string, bytes: Uint8Array = png) {
  const { data, error } = await service.storage.from('results').upload(aliceKey(name), bytes, { contentType: 'image/png' });
  assert.equal(error, null);
  return data!;
}

describe('buckets', () => {
  test('a duplicate bucket is 409 "The resource already exists"', async () => {
    const { error } = await service.storage.createBucket('results', { public: false });
    assert.equal(error?.message, 'The resource already exists');
    assert.equal(error?.statusCode, '409');
  });

  test('a user without a policy cannot create a bucket: RLS says no', async () => {
    const { error } = await alice.storage.createBucket('alices-own', { public: true });
    assert.equal(error?.statusCode, '403');
    assert.equal(error?.message, 'new row violates row-level security policy');
    const { rows } = await stack.db.query(`select 1 from storage.buckets where id = 'alices-own'`);
    assert.equal(rows.length, 0);
  });

  test('the service role gets and lists buckets; an unknown one is "Bucket not found"', async () => {
    const { data } = await service.storage.getBucket('public-assets');
    assert.equal(data?.public, true);
    const list = await service.storage.listBuckets();
    assert.deepEqual(list.data?.map((b) => b.id).sort(), ['public-assets', 'results', 'uploads']);
    const missing = await service.storage.getBucket('nope');
    assert.equal(missing.error?.message, 'Bucket not found');
    assert.equal(missing.error?.statusCode, '404');
  });
});

describe('uploading and downloading', () => {
  test('the service role uploads; the metadata row records type, size and eTag; bytes land on disk', async () => {
    const name = `${randomUUID()}.png`;
    const data = await uploadResult(name);
    assert.equal(data.path, aliceKey(name));
    assert.equal(data.fullPath, `results/${aliceKey(name)}`);
    const { rows } = await stack.db.query(`select id, owner, metadata, version from storage.objects where bucket_id = 'results' and name = $1`, [aliceKey(name)]);
    assert.equal(rows[0].id, data.id);
    assert.equal(rows[0].owner, null, 'the service role has no uid');
    assert.equal(rows[0].metadata.mimetype, 'image/png');
    assert.equal(rows[0].metadata.size, png.length);
    assert.match(rows[0].metadata.eTag, /^"[0-9a-f]{32}"$/);
    assert.ok(filesOnDisk().some((f) => f.name === rows[0].version));
  });

  test('alice downloads her result byte for byte, with its content type', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const { data, error } = await alice.storage.from('results').download(aliceKey(name));
    assert.equal(error, null);
    assert.equal(data?.type, 'image/png');
    assert.deepEqual(Buffer.from(await data!.arrayBuffer()), png);
  });

  test('bob and anon get "Object not found" for an object they cannot see (HTTP 400, statusCode "404")', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    for (const client of [bob, anon]) {
      const { data, error } = await client.storage.from('results').download(aliceKey(name));
      assert.equal(data, null);
      assert.equal(error?.name, 'StorageApiError');
      assert.equal(error?.status, 400);
      assert.equal(error?.statusCode, '404');
      assert.equal(error?.message, 'Object not found');
    }
    // An object that does not exist answers the same: nothing leaks about what exists.
    const missing = await alice.storage.from('results').download(aliceKey('missing.png'));
    assert.equal(missing.error?.message, 'Object not found');
    assert.equal((await bob.storage.from('results').exists(aliceKey(name))).data, false);
    assert.equal((await alice.storage.from('results').exists(aliceKey(name))).data, true);
  });

  test('a second upload without upsert is 409; with upsert it replaces the bytes and frees the old file', async () => {
    const name = `${randomUUID()}.png`;
    const first = await uploadResult(name);
    const again = await service.storage.from('results').upload(aliceKey(name), png, { contentType: 'image/png' });
    assert.equal(again.error?.message, 'The resource already exists');
    assert.equal(again.error?.statusCode, '409');

    const before = filesOnDisk().length;
    const replacement = drawPromptImage('a better result', 32, 32);
    const upserted = await service.storage.from('results').upload(aliceKey(name), replacement, { contentType: 'image/png', upsert: true });
    assert.equal(upserted.error, null);
    assert.equal(upserted.data?.id, first.id, 'the object keeps its id');
    assert.equal(filesOnDisk().length, before, 'the replaced version was removed');
    const { data } = await alice.storage.from('results').download(aliceKey(name));
    assert.deepEqual(Buffer.from(await data!.arrayBuffer()), replacement);
  });

  test('a Blob goes up as multipart form data and keeps its type and user metadata', async () => {
    const name = `${randomUUID()}.png`;
    const { error } = await service.storage
      .from('results')
      .upload(aliceKey(name), new Blob([new Uint8Array(png)], { type: 'image/png' }), { metadata: { jobId: 'job-1' } });
    assert.equal(error, null);
    const info = await alice.storage.from('results').info(aliceKey(name));
    assert.equal(info.error, null);
    assert.equal(info.data?.contentType, 'image/png');
    assert.equal(info.data?.size, png.length);
    assert.deepEqual(info.data?.metadata, { jobId: 'job-1' });
  });

  test('a user uploads into her own folder as owner, and RLS refuses bob\'s folder', async () => {
    const mine = `${DEMO_USERS.alice.id}/${randomUUID()}.png`;
    const ok = await alice.storage.from('uploads').upload(mine, png, { contentType: 'image/png' });
    assert.equal(ok.error, null);
    const { rows } = await stack.db.query(`select owner, owner_id from storage.objects where bucket_id = 'uploads' and name = $1`, [mine]);
    assert.equal(rows[0].owner, DEMO_USERS.alice.id);
    assert.equal(rows[0].owner_id, DEMO_USERS.alice.id);

    const theirs = `${DEMO_USERS.bob.id}/${randomUUID()}.png`;
    const before = filesOnDisk().length;
    const denied = await alice.storage.from('uploads').upload(theirs, png, { contentType: 'image/png' });
    assert.equal(denied.error?.message, 'new row violates row-level security policy');
    assert.equal(denied.error?.statusCode, '403');
    assert.equal(filesOnDisk().length, before, 'the refused bytes were not kept');
    const anonDenied = await anon.storage.from('uploads').upload(theirs, png, { contentType: 'image/png' });
    assert.equal(anonDenied.error?.statusCode, '403');
  });

  test('an upload to a missing bucket is "Bucket not found"', async () => {
    const { error } = await service.storage.from('no-such-bucket').upload('a.png', png, { contentType: 'image/png' });
    assert.equal(error?.message, 'Bucket not found');
  });

  test('a forged bearer token is refused with 403 semantics', async () => {
    const forged = await forgedToken(stack, { sub: DEMO_USERS.alice.id, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 60 });
    const response = await fetch(`${stack.apiUrl}/storage/v1/object/results/${aliceKey('x.png')}`, {
      headers: { apikey: stack.publishableKey, authorization: `Bearer ${forged}` },
    });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.statusCode, '403');
    assert.equal(body.message, 'invalid signature');
  });
});

describe('signed and public URLs', () => {
  test('alice signs a URL for her object; it serves the bytes with no session', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const { data, error } = await alice.storage.from('results').createSignedUrl(aliceKey(name), 60);
    assert.equal(error, null);
    const signed = new URL(data!.signedUrl);
    assert.equal(signed.pathname, `/storage/v1/object/sign/results/${aliceKey(name)}`);
    // Only the API key the gateway asks of every request; no Authorization header.
    const response = await fetch(signed, { headers: { apikey: stack.publishableKey } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);
    const claims = JSON.parse(Buffer.from(signed.searchParams.get('token')!.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.url, `results/${aliceKey(name)}`);
    assert.equal(claims.exp - claims.iat, 60);
  });

  test('a signed URL with the download option serves the bytes as an attachment, named as hosted Storage names it', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const headerFor = async (download: string | boolean) => {
      const { data, error } = await alice.storage.from('results').createSignedUrl(aliceKey(name), 60, { download });
      assert.equal(error, null);
      const response = await fetch(data!.signedUrl, { headers: { apikey: stack.publishableKey } });
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), png, 'the same bytes');
      return response.headers.get('content-disposition');
    };
    assert.equal(await headerFor('lighthouse-at-dusk-2026-12-07.png'), "attachment; filename=lighthouse-at-dusk-2026-12-07.png; filename*=UTF-8''lighthouse-at-dusk-2026-12-07.png");
    assert.equal(await headerFor(true), 'attachment;', 'no name: the browser names the file from the URL');
    const { data } = await alice.storage.from('results').createSignedUrl(aliceKey(name), 60);
    const plain = await fetch(data!.signedUrl, { headers: { apikey: stack.publishableKey } });
    assert.equal(plain.headers.get('content-disposition'), null, 'without the option the image shows inline');
    // A name that is not a token is quoted, with what old clients cannot read replaced in
    // filename and kept exactly in filename* (RFC 8187). Sent by hand: storage-js encodes the
    // query and then the whole URL again, so a name outside [A-Za-z0-9._-] reaches Storage,
    // hosted as here, still percent-encoded.
    const raw = await fetch(`${data!.signedUrl}&download=${encodeURIComponent('naïve café (1).png')}`, { headers: { apikey: stack.publishableKey } });
    assert.equal(raw.headers.get('content-disposition'), `attachment; filename="na_ve caf_ (1).png"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9%20%281%29.png`);
    const hostile = await fetch(`${data!.signedUrl}&download=${encodeURIComponent('a"b\\c\r\nSet-Cookie: x=1.png')}`, { headers: { apikey: stack.publishableKey } });
    assert.equal(hostile.headers.get('set-cookie'), null, 'a name cannot add a header');
    assert.equal(hostile.headers.get('content-disposition'), `attachment; filename="a_b_c__Set-Cookie: x=1.png"; filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x%3D1.png`);
  });

  test('bob cannot sign a URL for alice\'s object', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const { error } = await bob.storage.from('results').createSignedUrl(aliceKey(name), 60);
    assert.equal(error?.message, 'Object not found');
  });

  test('an expired token, a token for another object and a tampered token are refused', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const url = `results/${aliceKey(name)}`;
    const now = Math.floor(Date.now() / 1000);
    const get = async (token: string, target = url) => {
      const response = await fetch(`${stack.apiUrl}/storage/v1/object/sign/${target}?token=${token}`, { headers: { apikey: stack.publishableKey } });
      return { status: response.status, body: await response.json() };
    };
    const expired = await get(await stack.keys.tokens.sign({ url, iat: now - 120, exp: now - 60 }));
    assert.deepEqual([expired.status, expired.body.statusCode, expired.body.message], [400, '400', 'jwt expired']);
    const other = await get(await stack.keys.tokens.sign({ url, iat: now, exp: now + 60 }), `results/${aliceKey('other.png')}`);
    assert.equal(other.body.error, 'InvalidSignature');
    const forged = await get(await forgedToken(stack, { url, iat: now, exp: now + 60 }));
    assert.equal(forged.body.message, 'invalid signature');
  });

  test('createSignedUrls signs what the caller can see and reports the rest', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const { data } = await alice.storage.from('results').createSignedUrls([aliceKey(name), aliceKey('missing.png')], 60);
    assert.ok(data?.[0]?.signedUrl);
    assert.equal(data?.[1]?.signedUrl, null);
    assert.match(data?.[1]?.error ?? '', /does not exist/);
  });

  test('a public bucket serves by public URL; a private bucket does not', async () => {
    const key = `${randomUUID()}.png`;
    assert.equal((await service.storage.from('public-assets').upload(key, png, { contentType: 'image/png' })).error, null);
    const publicUrl = anon.storage.from('public-assets').getPublicUrl(key).data.publicUrl;
    const response = await fetch(publicUrl, { headers: { apikey: stack.publishableKey } });
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);

    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const privateUrl = anon.storage.from('results').getPublicUrl(aliceKey(name)).data.publicUrl;
    const refused = await fetch(privateUrl, { headers: { apikey: stack.publishableKey } });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).message, 'Bucket not found');
  });
});

describe('listing and removing', () => {
  test('list shows one folder level, only what the caller may see', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    await uploadResult(`nested/${name}`);
    const mine = await alice.storage.from('results').list(DEMO_USERS.alice.id, { limit: 1000 });
    assert.equal(mine.error, null);
    const file = mine.data!.find((f) => f.name === name);
    assert.ok(file?.id);
    assert.equal(file?.metadata?.mimetype, 'image/png');
    const folder = mine.data!.find((f) => f.name === 'nested');
    assert.equal(folder?.id, null, 'folders have no id');

    const theirs = await bob.storage.from('results').list(DEMO_USERS.alice.id);
    assert.deepEqual(theirs.data, []);
    const top = await service.storage.from('results').list();
    assert.deepEqual(top.data?.map((f) => f.name), [DEMO_USERS.alice.id]);
    const searched = await alice.storage.from('results').list(DEMO_USERS.alice.id, { search: name.slice(0, 8) });
    assert.deepEqual(searched.data?.map((f) => f.name), [name]);
  });

  test('remove deletes only what the caller may delete, and frees the bytes', async () => {
    const name = `${randomUUID()}.png`;
    await uploadResult(name);
    const { rows } = await stack.db.query(`select version from storage.objects where name = $1`, [aliceKey(name)]);
    const denied = await alice.storage.from('results').remove([aliceKey(name)]);
    assert.deepEqual(denied.data, [], 'no delete policy: nothing removed');
    const removed = await service.storage.from('results').remove([aliceKey(name)]);
    assert.deepEqual(removed.data?.map((o) => o.name), [aliceKey(name)]);
    assert.ok(!filesOnDisk().some((f) => f.name === rows[0].version));
    const gone = await alice.storage.from('results').download(aliceKey(name));
    assert.equal(gone.error?.message, 'Object not found');
  });
});

describe('hostile paths', () => {
  test('traversal, absolute, NUL, backslash and overlong keys are 400 and touch nothing', async () => {
    const rowsBefore = (await stack.db.query('select count(*)::int as n from storage.objects')).rows[0].n;
    const filesBefore = filesOnDisk().length;
    const post = (rawPath: string) =>
      fetch(`${stack.apiUrl}/storage/v1/object/${rawPath}`, {
        method: 'POST',
        headers: { apikey: stack.secretKey, authorization: `Bearer ${stack.secretKey}`, 'content-type': 'image/png' },
        body: new Uint8Array(png),
      });
    for (const rawPath of [
      'results/alice/..%2f..%2f..%2fetc%2fpasswd',
      'results//etc/passwd',
      'results/alice/a%00b.png',
      'results/alice%5c..%5cx.png',
      `results/${'a'.repeat(1100)}.png`,
      // A bare `%2E` segment is resolved by URL parsing before it arrives; `.%2f` is not.
      'results/alice/.%2fx.png',
    ]) {
      const response = await post(rawPath);
      assert.equal(response.status, 400, rawPath);
      const body = await response.json();
      assert.equal(body.statusCode, '400', rawPath);
      assert.ok(['InvalidKey', 'InvalidRequest'].includes(body.error), `${rawPath}: ${JSON.stringify(body)}`);
    }
    const nul = await service.storage.from('results').upload('alice/a\u0000b.png', png, { contentType: 'image/png' });
    assert.equal(nul.error?.statusCode, '400');
    const removeTraversal = await service.storage.from('results').remove(['../../etc/passwd']);
    assert.equal(removeTraversal.error?.statusCode, '400');
    const signTraversal = await service.storage.from('results').createSignedUrls(['alice/../bob/x.png'], 60);
    assert.equal(signTraversal.error?.statusCode, '400');

    assert.equal((await stack.db.query('select count(*)::int as n from storage.objects')).rows[0].n, rowsBefore);
    assert.equal(filesOnDisk().length, filesBefore);
    // Every file under the root is a version id, whatever keys were tried.
    for (const file of filesOnDisk()) assert.match(file.name, /^[0-9a-f-]{36}$/);
  });
});
