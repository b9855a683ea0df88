import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FunctionsHttpError } from '@supabase/supabase-js';
import { forgedToken } from '../../../../testkit/http/tokens.ts';
import { createTestClient, signedInClient } from '../../../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-functions-'));
const marker = path.join(dir, 'unloaded.txt');
// A function in the shape Supabase documents: Deno.serve, env, waitUntil, beforeunload. The
// same code twice: `echo` behind verify_jwt (the default), `open-echo` with it off.
const echoSource = `
addEventListener('beforeunload', () => Deno.writeTextFileSync(${JSON.stringify(marker)}, 'bye'));
let background = 0;
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname.endsWith('/crash')) Deno.exit(3);
  EdgeRuntime.waitUntil(new Promise((r) => setTimeout(() => { background++; r(null); }, 10)));
  const body = req.method === 'POST' ? await req.json() : null;
  return Response.json({
    body,
    path: url.pathname,
    method: req.method,
    authorization: req.headers.get('authorization')?.slice(0, 10),
    apikey: req.headers.get('apikey'),
    supabaseUrl: Deno.env.get('SUPABASE_URL'),
    publishableKeys: JSON.parse(Deno.env.get('SUPABASE_PUBLISHABLE_KEYS') ?? '{}'),
    secretKeys: JSON.parse(Deno.env.get('SUPABASE_SECRET_KEYS') ?? '{}'),
    jwks: JSON.parse(Deno.env.get('SUPABASE_JWKS') ?? '{}'),
    legacyServiceKey: Deno.env.get('SUPABASE_SERVICE_ROLE_KEY') ?? null,
    secret: Deno.env.get('EXAMPLE_SECRET'),
    background,
  });
});
`;
for (const name of ['echo', 'open-echo']) {
  fs.mkdirSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, name, 'index.ts'), echoSource);
}

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ functions: { dir, env: { EXAMPLE_SECRET: 'shh' }, noVerifyJwt: ['open-echo'] } });
});

after(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('edge functions', () => {
  test('functions.invoke reaches the function in Deno with the hosted environment', async () => {
    const supabase = (await signedInClient(stack, 'alice')).client;
    const { data, error } = await supabase.functions.invoke('echo', { body: { hello: 'world' } });
    assert.equal(error, null);
    assert.deepEqual(data.body, { hello: 'world' });
    assert.equal(data.method, 'POST');
    assert.equal(data.path, '/echo');
    assert.equal(data.supabaseUrl, stack.apiUrl);
    assert.deepEqual(data.publishableKeys, { default: stack.publishableKey });
    assert.deepEqual(data.secretKeys, { default: stack.secretKey });
    assert.deepEqual(data.jwks, stack.keys.tokens.jwks);
    assert.ok(data.jwks.keys.every((k: Record<string, unknown>) => k.d === undefined), 'public parts only');
    assert.equal(data.legacyServiceKey, stack.serviceRoleKey ?? null, 'the legacy variable only while legacy keys are on');
    assert.equal(data.secret, 'shh');
    assert.equal(data.authorization, 'Bearer eyJ');
    assert.equal(data.apikey, stack.publishableKey);
  });

  test('an API key is not a JWT: verify_jwt refuses it, a function with verify_jwt off gets it in apikey', async () => {
    const anon = createTestClient(stack, stack.publishableKey);
    const refused = await anon.functions.invoke('echo', { body: {} });
    assert.ok(refused.error instanceof FunctionsHttpError);
    assert.equal(refused.error.context.status, 401);
    const open = await fetch(`${stack.apiUrl}/functions/v1/open-echo`, { method: 'POST', body: '{}', headers: { apikey: stack.secretKey } });
    assert.equal(open.status, 200);
    assert.equal((await open.json()).apikey, stack.secretKey);
  });

  test('EdgeRuntime.waitUntil work runs after the response', async () => {
    const supabase = (await signedInClient(stack, 'alice')).client;
    const first = await supabase.functions.invoke('echo', { body: {} });
    const deadline = Date.now() + 5_000;
    let seen = first.data.background;
    while (seen <= first.data.background && Date.now() < deadline) {
      seen = (await supabase.functions.invoke('echo', { body: {} })).data.background;
    }
    assert.ok(seen > first.data.background);
  });

  test('a missing or invalid JWT is refused before the function runs', async () => {
    const noAuth = await fetch(`${stack.apiUrl}/functions/v1/echo`, { method: 'POST', body: '{}' });
    assert.equal(noAuth.status, 401);
    assert.deepEqual(await noAuth.json(), { code: 401, message: 'Missing authorization header' });
    const forged = await forgedToken(stack, { role: 'service_role', exp: Math.floor(Date.now() / 1000) + 60 });
    const bad = await fetch(`${stack.apiUrl}/functions/v1/echo`, {
      method: 'POST',
      body: '{}',
      headers: { authorization: `Bearer ${forged}` },
    });
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).message, 'Invalid JWT');
  });

  test('an unknown function is 404 and a hostile name never reaches the filesystem', async () => {
    for (const name of ['nope', '..%2F..%2Fetc', 'ECHO']) {
      const res = await fetch(`${stack.apiUrl}/functions/v1/${name}`, {
        headers: { authorization: `Bearer ${stack.publishableKey}` },
      });
      assert.equal(res.status, 404, name);
    }
  });

  test('a killed function process is replaced on the next request', async () => {
    const supabase = (await signedInClient(stack, 'alice')).client;
    await supabase.functions.invoke('echo', { body: {} });
    const crashed = await supabase.functions.invoke('echo/crash', { body: {} });
    assert.ok(crashed.error instanceof Error);
    const { data, error } = await supabase.functions.invoke('echo', { body: { again: true } });
    assert.equal(error, null);
    assert.deepEqual(data.body, { again: true });
  });

  test('stopping the gateway sends beforeunload to the function', async () => {
    const own = await startTestStack({ functions: { dir } });
    fs.rmSync(marker, { force: true });
    const supabase = (await signedInClient(own, 'alice')).client;
    assert.equal((await supabase.functions.invoke('echo', { body: {} })).error, null);
    await own.stop();
    assert.equal(fs.readFileSync(marker, 'utf8'), 'bye');
  });

  test('errors from the function itself come back as FunctionsHttpError', async () => {
    const supabase = (await signedInClient(stack, 'alice')).client;
    const { error } = await supabase.functions.invoke('echo', { body: 'not json', headers: { 'content-type': 'application/json' } });
    assert.ok(error instanceof FunctionsHttpError);
    assert.equal(error.context.status, 500);
  });
});
