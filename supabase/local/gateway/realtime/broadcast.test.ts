import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient } from '../../../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { closeClients, Inbox, subscribe, type BroadcastEvent } from '../../../../testkit/realtime/channels.ts';

let stack: TestStack;
let a: SupabaseClient;
let b: SupabaseClient;

before(async () => {
  stack = await startTestStack();
  a = createTestClient(stack, stack.publishableKey);
  b = createTestClient(stack, stack.publishableKey);
});

after(async () => {
  await closeClients(a, b);
  await stack.stop();
});

describe('Broadcast between clients', () => {
  test('a JSON broadcast reaches the other subscribers of the topic but not the sender by default', async () => {
    const inboxA = new Inbox<BroadcastEvent>();
    const inboxB = new Inbox<BroadcastEvent>();
    const chA = await subscribe(a.channel('room-1').on('broadcast', { event: 'msg' }, inboxA.push));
    const chB = await subscribe(b.channel('room-1').on('broadcast', { event: 'msg' }, inboxB.push));
    const other = b.channel('room-2');
    const inboxOther = new Inbox<BroadcastEvent>();
    other.on('broadcast', { event: 'msg' }, inboxOther.push);
    await subscribe(other);

    assert.equal(await chA.send({ type: 'broadcast', event: 'msg', payload: { text: 'héllo 👋', n: 1 } }), 'ok');
    const got = await inboxB.next('broadcast');
    assert.equal(got.type, 'broadcast');
    assert.equal(got.event, 'msg');
    assert.deepEqual(got.payload, { text: 'héllo 👋', n: 1 });

    // The sender's own marker via B proves A's inbox (no self) and room-2 stayed empty.
    await chB.send({ type: 'broadcast', event: 'msg', payload: { marker: true } });
    assert.deepEqual((await inboxA.next('marker')).payload, { marker: true });
    assert.deepEqual(inboxA.unread(), []);
    assert.deepEqual(inboxOther.items, []);
    await a.removeChannel(chA);
    await b.removeChannel(chB);
    await b.removeChannel(other);
  });

  test('self: true echoes to the sender; ack: true resolves send() only after the server took it', async () => {
    const inbox = new Inbox<BroadcastEvent>();
    const ch = await subscribe(
      a.channel('self-ack', { config: { broadcast: { self: true, ack: true } } }).on('broadcast', { event: '*' }, inbox.push),
    );
    assert.equal(await ch.send({ type: 'broadcast', event: 'anything', payload: { n: 2 } }), 'ok');
    const got = await inbox.next('self broadcast');
    assert.equal(got.event, 'anything');
    assert.deepEqual(got.payload, { n: 2 });
    await a.removeChannel(ch);
  });

  test('binary payloads travel as bytes', async () => {
    const inbox = new Inbox<BroadcastEvent>();
    const chA = await subscribe(a.channel('bin'));
    const chB = await subscribe(b.channel('bin').on('broadcast', { event: 'blob' }, inbox.push));
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await chA.send({ type: 'broadcast', event: 'blob', payload: bytes.buffer });
    const got = await inbox.next('binary broadcast');
    assert.deepEqual(new Uint8Array(got.payload as ArrayBuffer), bytes);
    await a.removeChannel(chA);
    await b.removeChannel(chB);
  });
});

describe('Broadcast over HTTP', () => {
  test('POST /api/broadcast (what send() falls back to before joining) reaches subscribers; 202', async () => {
    const inbox = new Inbox<BroadcastEvent>();
    const ch = await subscribe(b.channel('rest-room').on('broadcast', { event: 'note' }, inbox.push));
    const res = await fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { apikey: stack.publishableKey, authorization: `Bearer ${stack.publishableKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 'rest-room', event: 'note', payload: { via: 'rest' }, private: false }] }),
    });
    assert.equal(res.status, 202);
    assert.deepEqual((await inbox.next('rest broadcast')).payload, { via: 'rest' });

    // The client's own fallback: a channel that is not joined sends over HTTP.
    const unjoined = a.channel('rest-room');
    const originalWarn = console.warn;
    console.warn = () => {}; // realtime-js warns that the fallback is deprecated
    try {
      assert.equal(await unjoined.send({ type: 'broadcast', event: 'note', payload: { via: 'fallback' } }), 'ok');
    } finally {
      console.warn = originalWarn;
    }
    assert.deepEqual((await inbox.next('fallback broadcast')).payload, { via: 'fallback' });
    await a.removeChannel(unjoined);

    // httpSend: POST /api/broadcast/<topic>/events/<event>
    const sender = a.channel('rest-room');
    assert.deepEqual(await sender.httpSend('note', { via: 'httpSend' }), { success: true });
    assert.deepEqual((await inbox.next('httpSend broadcast')).payload, { via: 'httpSend' });
    await a.removeChannel(sender);
    await b.removeChannel(ch);
  });

  test('a malformed batch is 422, a bad token 401', async () => {
    const bad = await fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { apikey: stack.publishableKey, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 'x' }] }),
    });
    assert.equal(bad.status, 422);
    const unauthorised = await fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { apikey: stack.publishableKey, authorization: 'Bearer nope', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [] }),
    });
    assert.equal(unauthorised.status, 401);
  });
});
