import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FunctionsHttpError } from '@supabase/supabase-js';
import { signJwt } from '../../jwt.ts';
import { createTestClient, startTestStack, type TestStack } from '../../../tests/support/database.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-functions-'));
const marker = path.join(dir, 'unloaded.txt');
fs.mkdirSync(path.join(dir, 'echo'));
// A function in the shape Supabase documents: Deno.serve, env, waitUntil, beforeunload.
fs.writeFileSync(
  path.join(dir, 'echo', 'index.ts'),
  `
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
    supabaseUrl: Deno.env.get('SUPABASE_URL'),
    hasServiceKey: Boolean(Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')),
    secret: Deno.env.get('EXAMPLE_SECRET'),
    background,
  });
});
`,
);

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ functions: { dir, env: { EXAMPLE_SECRET: 'shh' } } });
});
after(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('edge functions', () => {
  test('functions.invoke reaches the function in Deno with the hosted environment', async () => {
    const supabase = createTestClient(stack, stack.anonKey);
    const { data, error } = await supabase.functions.invoke('echo', { body: { hello: 'world' } });
    assert.equal(error, null);
    assert.deepEqual(data.body, { hello: 'world' });
    assert.equal(data.method, 'POST');
    assert.equal(data.path, '/echo');
    assert.equal(data.supabaseUrl, stack.apiUrl);
    assert.equal(data.hasServiceKey, true);
    assert.equal(data.secret, 'shh');
    assert.equal(data.authorization, 'Bearer eyJ');
  });

  test('EdgeRuntime.waitUntil work runs after the response', async () => {
    const supabase = createTestClient(stack, stack.serviceRoleKey);
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
    const forged = signJwt({ role: 'service_role' }, 'a-different-secret-that-is-long-enough!!');
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
        headers: { authorization: `Bearer ${stack.anonKey}` },
      });
      assert.equal(res.status, 404, name);
    }
  });

  test('a killed function process is replaced on the next request', async () => {
    const supabase = createTestClient(stack, stack.anonKey);
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
    const supabase = createTestClient(own, own.anonKey);
    assert.equal((await supabase.functions.invoke('echo', { body: {} })).error, null);
    await own.stop();
    assert.equal(fs.readFileSync(marker, 'utf8'), 'bye');
  });

  test('errors from the function itself come back as FunctionsHttpError', async () => {
    const supabase = createTestClient(stack, stack.anonKey);
    const { error } = await supabase.functions.invoke('echo', { body: 'not json', headers: { 'content-type': 'application/json' } });
    assert.ok(error instanceof FunctionsHttpError);
    assert.equal(error.context.status, 500);
  });
});
