import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, type RealtimePostgresInsertPayload, type RealtimeSystemPayload, type SupabaseClient } from '@supabase/supabase-js';
import type pg from 'pg';
import WebSocket from 'ws';
import { forgedToken } from '../../../../testkit/http/tokens.ts';
import { createTestClient, signedInClient } from '../../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { closeClients, Inbox, subscribe, writer, type BroadcastEvent } from '../../../../testkit/realtime/channels.ts';

let stack: TestStack;
let db: pg.Pool;
const clients: SupabaseClient[] = [];

before(async () => {
  stack = await startTestStack();
  db = writer(stack);
  await db.query(`
    create table public.rt_items (id int primary key, label text, n int);
    alter table public.rt_items enable row level security;
    create policy "read all" on public.rt_items for select to authenticated, anon using (true);
    alter publication supabase_realtime add table public.rt_items;
  `);
});

after(async () => {
  await closeClients(...clients);
  await db.end();
  await stack.stop();
});

function wsUrl(vsn: string, key = stack.publishableKey) {
  return `${stack.apiUrl.replace('http', 'ws')}/realtime/v1/websocket?apikey=${key}&vsn=${vsn}`;
}

/** A row of public.rt_items, created above. */
type ItemRow = { id: number; label: string | null; n: number | null };

/** A Phoenix frame from the server, in vsn 1.0.0's object form (vsn 2.0.0's arrays are unpacked into it). */
interface Frame<P = Record<string, unknown>> {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: P;
}
/** A binary frame, kept as it came. */
interface BinaryFrame {
  binary: WebSocket.RawData;
}

/** The `phx_reply` to a join: the postgres_changes bindings echoed back, each with its id. */
interface JoinReplyPayload {
  status: string;
  response: { postgres_changes: Array<{ id: number; event: string; schema: string; table: string; filter?: string }> };
}
/** A `postgres_changes` payload: the ids of the bindings it matched and the change itself. */
interface ChangePayload {
  ids: number[];
  data: {
    type: 'INSERT' | 'UPDATE' | 'DELETE';
    schema: string;
    table: string;
    commit_timestamp: string;
    columns: Array<{ name: string; type: string }>;
    record?: Record<string, unknown>;
    old_record?: Record<string, unknown>;
    errors: string[] | null;
  };
}

/** A bare Phoenix client: frames in, frames out, nothing hidden. */
async function rawSocket(vsn: '1.0.0' | '2.0.0') {
  const ws = new WebSocket(wsUrl(vsn));
  const inbox = new Inbox<Frame<unknown> | BinaryFrame>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return inbox.push({ binary: data });
    const m: unknown = JSON.parse(String(data));
    if (vsn === '2.0.0') {
      const f = m as [join_ref: string | null, ref: string | null, topic: string, event: string, payload: unknown];
      inbox.push({ join_ref: f[0], ref: f[1], topic: f[2], event: f[3], payload: f[4] });
    } else {
      inbox.push(m as Frame<unknown>);
    }
  });
  /** The next frame, read as the frame the test expects next (its assertions check it is). */
  const next = async <P = Record<string, unknown>>(label: string) => (await inbox.next(label)) as Frame<P>;
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const send = (m: { join_ref?: string | null; ref: string | null; topic: string; event: string; payload: unknown }) =>
    ws.send(JSON.stringify(vsn === '2.0.0' ? [m.join_ref ?? null, m.ref, m.topic, m.event, m.payload] : m));
  return { ws, next, send };
}

describe('Phoenix protocol', () => {
  for (const vsn of ['1.0.0', '2.0.0'] as const) {
    test(`vsn ${vsn}: heartbeat, join reply echoing postgres_changes with integer ids, system message, change event`, async () => {
      const { ws, next, send } = await rawSocket(vsn);
      send({ ref: '1', topic: 'phoenix', event: 'heartbeat', payload: {} });
      assert.deepEqual(await next('heartbeat reply'), {
        join_ref: null,
        ref: '1',
        topic: 'phoenix',
        event: 'phx_reply',
        payload: { status: 'ok', response: {} },
      });
      const binding = { event: 'INSERT', schema: 'public', table: 'rt_items', filter: 'n=gte.5' };
      send({ join_ref: '2', ref: '2', topic: 'realtime:raw', event: 'phx_join', payload: { config: { postgres_changes: [binding] }, access_token: stack.publishableKey } });
      const reply = await next<JoinReplyPayload>('join reply');
      assert.equal(reply.event, 'phx_reply');
      assert.equal(reply.ref, '2');
      assert.equal(reply.payload.status, 'ok');
      const echo = reply.payload.response.postgres_changes[0]!;
      assert.ok(Number.isInteger(echo.id));
      assert.deepEqual({ ...echo, id: undefined }, { ...binding, id: undefined });
      const system = await next<RealtimeSystemPayload>('system');
      assert.equal(system.event, 'system');
      assert.deepEqual(system.payload, { extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: 'raw' });

      const id = vsn === '1.0.0' ? 1 : 2;
      await db.query(`insert into public.rt_items values ($1, 'low', 1), ($1 + 100, 'high', 9)`, [id]);
      const change = await next<ChangePayload>('postgres_changes');
      assert.equal(change.event, 'postgres_changes');
      assert.equal(change.topic, 'realtime:raw');
      assert.deepEqual(change.payload.ids, [echo.id]);
      const data = change.payload.data;
      assert.equal(data.type, 'INSERT');
      assert.deepEqual(data.record, { id: id + 100, label: 'high', n: 9 });
      assert.deepEqual(data.columns, [
        { name: 'id', type: 'int4' },
        { name: 'label', type: 'text' },
        { name: 'n', type: 'int4' },
      ]);
      assert.equal(data.errors, null);

      send({ join_ref: '2', ref: '3', topic: 'realtime:raw', event: 'phx_leave', payload: {} });
      assert.equal((await next('leave reply')).payload.status, 'ok');
      ws.close();
    });
  }

  test('a frame for a topic the socket has not joined is answered with an error', async () => {
    const { ws, next, send } = await rawSocket('2.0.0');
    send({ join_ref: '9', ref: '9', topic: 'realtime:nowhere', event: 'broadcast', payload: { type: 'broadcast', event: 'x', payload: {} } });
    const reply = await next('reply');
    assert.equal(reply.payload.status, 'error');
    ws.close();
  });

  test('an unknown path or protocol version is refused at the upgrade', async () => {
    const ws = new WebSocket(wsUrl('3.0.0'));
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 404);
    const noKey = new WebSocket(`${stack.apiUrl.replace('http', 'ws')}/realtime/v1/websocket?vsn=2.0.0`);
    const status2 = await new Promise<number>((resolve) => noKey.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status2, 401);
  });
});

describe('tokens', () => {
  const claims = (over: Record<string, unknown>) => ({
    sub: DEMO_USERS.alice.id,
    role: 'authenticated',
    aud: 'authenticated',
    exp: Math.floor(Date.now() / 1000) + 3600,
    ...over,
  });

  async function joinWith(token: string) {
    const client = createTestClient(stack, stack.publishableKey);
    clients.push(client);
    await client.realtime.setAuth(token);
    return subscribe(client.channel(`t-${Math.random()}`)).then(
      () => 'joined',
      (e: Error) => e.message,
    );
  }

  test('an expired token is refused', async () => {
    const reason = await joinWith(await stack.keys.tokens.sign(claims({ exp: Math.floor(Date.now() / 1000) - 30 })));
    assert.match(reason, /^InvalidJWTToken: Token has expired \d+ seconds ago$/);
  });

  test('a token signed with another secret is refused', async () => {
    const reason = await joinWith(await forgedToken(stack, claims({})));
    assert.equal(reason, 'JwtSignatureError: Failed to validate JWT signature');
  });

  test('a malformed token, or one without role and exp, is refused', async () => {
    assert.equal(await joinWith('not-a-jwt'), 'MalformedJWT: The token provided is not a valid JWT');
    assert.equal(await joinWith(await stack.keys.tokens.sign({ sub: 'x' })), 'InvalidJWTToken: Fields `role` and `exp` are required in JWT');
  });

  test('a token naming a role the API may not assume (a superuser) is refused', async () => {
    const reason = await joinWith(await stack.keys.tokens.sign(claims({ role: 'postgres' })));
    assert.match(reason, /^Unauthorized: .*postgres/);
  });

  test('a channel is closed with a system message when its token expires', async () => {
    const client = createTestClient(stack, stack.publishableKey);
    clients.push(client);
    await client.realtime.setAuth(await stack.keys.tokens.sign(claims({ exp: Math.floor(Date.now() / 1000) + 2 })));
    const systems = new Inbox<RealtimeSystemPayload>();
    const statuses = new Inbox<string>();
    const channel = client.channel('expiring').on('system', {}, systems.push);
    channel.subscribe((status) => statuses.push(status));
    assert.equal(await statuses.next('SUBSCRIBED'), 'SUBSCRIBED');
    const system = await systems.next('expiry', 6_000);
    assert.equal(system.extension, 'system');
    assert.equal(system.status, 'error');
    assert.match(system.message, /^Token has expired \d+ seconds ago$/);
    assert.equal(await statuses.next('CLOSED'), 'CLOSED');
  });

  test('access_token refresh: a fresh token keeps the channel, an expired one closes it', async () => {
    const { client, token } = await signedInClient(stack, 'alice');
    clients.push(client);
    const systems = new Inbox<RealtimeSystemPayload>();
    const inbox = new Inbox<RealtimePostgresInsertPayload<ItemRow>>();
    const statuses = new Inbox<string>();
    const channel = client
      .channel('refresh')
      .on('system', {}, systems.push)
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_items' }, inbox.push);
    channel.subscribe((s) => statuses.push(s));
    assert.equal(await statuses.next('SUBSCRIBED'), 'SUBSCRIBED');
    assert.equal((await systems.next('subscribed')).status, 'ok');

    await client.realtime.setAuth(await stack.keys.tokens.sign(claims({ exp: Math.floor(Date.now() / 1000) + 7200 })));
    await db.query(`insert into public.rt_items values (300, 'after refresh', 1)`);
    assert.equal((await inbox.next('insert after refresh')).new.id, 300);

    await client.realtime.setAuth(await stack.keys.tokens.sign(claims({ exp: Math.floor(Date.now() / 1000) - 5 })));
    const system = await systems.next('refresh refused');
    assert.equal(system.status, 'error');
    assert.match(system.message, /Token has expired/);
    assert.equal(await statuses.next('CLOSED'), 'CLOSED');
    assert.ok(token);
  });
});

describe('supabase-js with vsn 1.0.0', () => {
  test('broadcast with self works over the JSON protocol', async () => {
    const client = createClient(stack.apiUrl, stack.publishableKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket, vsn: '1.0.0' } as never,
    });
    clients.push(client);
    const inbox = new Inbox<BroadcastEvent>();
    const channel = await subscribe(client.channel('v1', { config: { broadcast: { self: true, ack: true } } }).on('broadcast', { event: 'ping' }, inbox.push));
    assert.equal(await channel.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } }), 'ok');
    const got = await inbox.next('own broadcast');
    assert.deepEqual(got.payload, { n: 1 });
  });
});
