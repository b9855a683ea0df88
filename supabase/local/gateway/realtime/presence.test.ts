import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RealtimeChannel, RealtimePresenceJoinPayload, RealtimePresenceLeavePayload, SupabaseClient } from '@supabase/supabase-js';
import { createTestClient } from '../../../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../../../testkit/http/stack.ts';
import { closeClients, dropSocket, Inbox, subscribe } from '../../../../testkit/realtime/channels.ts';
import { until } from '../../../../testkit/wait.ts';

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

/** What the tests track: a status, a counter, or where the client is. */
type Meta = { status?: string; n?: number; here?: string };

function presenceChannel(client: SupabaseClient, topic: string, key: string) {
  const joins = new Inbox<RealtimePresenceJoinPayload<Meta>>();
  const leaves = new Inbox<RealtimePresenceLeavePayload<Meta>>();
  const syncs = new Inbox<void>();
  const channel = client
    .channel(topic, { config: { presence: { key } } })
    .on('presence', { event: 'join' }, joins.push)
    .on('presence', { event: 'leave' }, leaves.push)
    .on('presence', { event: 'sync' }, () => syncs.push());
  return { channel, joins, leaves, syncs };
}

const keysOf = (channel: RealtimeChannel) => Object.keys(channel.presenceState()).sort();

describe('Presence', () => {
  test('track reaches everyone in the room; a later joiner gets presence_state; untrack and leaving send leaves', async () => {
    const first = presenceChannel(a, 'room', 'ann');
    await subscribe(first.channel);
    assert.equal(await first.channel.track({ status: 'online', n: 1 }), 'ok');
    const selfJoin = await first.joins.next('own join');
    assert.equal(selfJoin.key, 'ann');
    assert.equal(selfJoin.newPresences[0]?.status, 'online');
    assert.equal(typeof selfJoin.newPresences[0]?.presence_ref, 'string');

    const second = presenceChannel(b, 'room', 'ben');
    await subscribe(second.channel);
    // presence_state on join: ben sees ann without her doing anything again.
    await until(() => keysOf(second.channel).includes('ann'), { label: 'ben sees ann' });
    assert.deepEqual(second.channel.presenceState<{ status: string }>().ann!.map((p) => p.status), ['online']);

    await second.channel.track({ status: 'busy' });
    const benJoin = await first.joins.next('ben join');
    assert.equal(benJoin.key, 'ben');
    await until(() => keysOf(first.channel).join() === 'ann,ben', { label: 'ann sees both' });

    // An update replaces the meta: both sides still see exactly one presence for ann.
    await first.channel.track({ status: 'away' });
    await until(() => second.channel.presenceState<{ status: string }>().ann?.[0]?.status === 'away', { label: 'update seen' });
    assert.equal(second.channel.presenceState().ann!.length, 1);

    assert.equal(await first.channel.untrack(), 'ok');
    const left = await second.leaves.next('ann untracked');
    assert.equal(left.key, 'ann');
    await until(() => keysOf(second.channel).join() === 'ben', { label: 'ann gone' });

    // Leaving the channel untracks too.
    await b.removeChannel(second.channel);
    await until(() => keysOf(first.channel).length === 0, { label: 'ben gone after leaving' });
    await a.removeChannel(first.channel);
  });

  test('presence is per room and a dropped socket counts as leaving', async () => {
    const c = createTestClient(stack, stack.publishableKey);
    const x = presenceChannel(a, 'room-x', 'watcher');
    await subscribe(x.channel);
    const y = presenceChannel(b, 'room-y', 'elsewhere');
    await subscribe(y.channel);
    await y.channel.track({ here: 'y' });
    const z = presenceChannel(c, 'room-x', 'dropper');
    await subscribe(z.channel);
    await z.channel.track({ here: 'x' });
    await until(() => keysOf(x.channel).join() === 'dropper', { label: 'watcher sees dropper only' });
    // Close the raw socket as a network failure would.
    dropSocket(c);
    const gone = await x.leaves.next('dropper leave');
    assert.equal(gone.key, 'dropper');
    await closeClients(c);
  });
});
