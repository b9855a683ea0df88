import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { addJobMinute, allowLoopbackTargets, createChannel, evaluate, markRolledUp } from '../../testkit/database/alerts.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { closeClients, subscribe } from '../../testkit/realtime/channels.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH, identity, type Actor } from '../../testkit/database/fixtures.ts';
import { until } from '../../testkit/wait.ts';

/**
 * The console's live alerts end to end: the official client joins the private topic
 * 'admin:alerts' through the gateway's Realtime, and an incident the evaluation opens arrives
 * as incident_changed (and its queued message as delivery_changed). Only support and admin may
 * join; nobody may send on it.
 */
let stack: TestStack;
const clients: DatabaseClient[] = [];

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await closeClients(...clients);
  await stack.stop();
});

async function signedIn(user: keyof typeof DEMO_USERS): Promise<DatabaseClient> {
  const { client } = await signedInClient(stack, user);
  clients.push(client);
  return client;
}

describe('admin:alerts over Realtime', () => {
  test('support receives incident_changed when an incident opens, and delivery_changed for its message', async () => {
    const support = await signedIn('support');
    const received: { event: string; payload: Record<string, unknown> }[] = [];
    const channel = support
      .channel('admin:alerts', { config: { private: true } })
      .on('broadcast', { event: '*' }, (message) => received.push({ event: message.event, payload: message.payload }));
    await subscribe(channel);

    await stack.db.query(`update public.alert_rules set enabled = (id = 'failure_rate') where true`);
    await allowLoopbackTargets(stack.db);
    await createChannel(stack.db, { name: 'hook', kind: 'webhook', url: 'http://127.0.0.1:9/x' });
    await markRolledUp(stack.db);
    await addJobMinute(stack.db, { minutesAgo: 1, model: FLASH, succeeded: 20, failed: 20 });
    await evaluate(stack.db);

    const opened = await until(() => received.find((m) => m.event === 'incident_changed'), { label: 'incident_changed' });
    assert.deepEqual(
      { rule: opened.payload.rule_id, status: opened.payload.status, severity: opened.payload.severity, value: opened.payload.value },
      { rule: 'failure_rate', status: 'open', severity: 'critical', value: 50 },
    );
    const queued = await until(() => received.find((m) => m.event === 'delivery_changed'), { label: 'delivery_changed' });
    assert.deepEqual([queued.payload.event, queued.payload.status, queued.payload.incident_id], ['opened', 'pending', opened.payload.id]);
  });

  test('alice may not join admin:alerts', async () => {
    const alice = await signedIn('alice');
    await assert.rejects(subscribe(alice.channel('admin:alerts', { config: { private: true } })), /Unauthorized/);
  });

  test('the policies let support and admin read the topic and nobody write to it', async () => {
    const access: Record<string, unknown> = {};
    for (const actor of ['alice', 'support', 'admin'] as Actor[]) {
      const { role, claims } = identity(actor);
      const { rows } = await stack.db.query(
        `select broadcast_read as read, broadcast_write as write from realtime.local_topic_access($1, $2, 'admin:alerts', true)`,
        [role, JSON.stringify(claims)],
      );
      access[actor] = rows[0];
    }
    assert.deepEqual(access, {
      alice: { read: false, write: false },
      support: { read: true, write: false },
      admin: { read: true, write: false },
    });
  });
});
