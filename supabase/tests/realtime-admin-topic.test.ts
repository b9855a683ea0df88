import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges, type AdminJobChange } from '../../lib/admin-jobs/admin-job-change.ts';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { closeClients, subscribe } from '../../testkit/realtime/channels.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH } from '../../testkit/database/fixtures.ts';

/**
 * The admin console's live feed end to end: the official client joins the private topic
 * 'admin:jobs' through the gateway's Realtime, and a job created through the REST API arrives
 * as a jobs_changed broadcast the console's parser reads. End users are refused the topic.
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

describe('admin:jobs over Realtime', () => {
  test('an admin receives jobs_changed for a job alice creates through the API', async () => {
    const admin = await signedIn('admin');
    const received: AdminJobChange[] = [];
    const payloads: Record<string, unknown>[] = [];
    let notify: (() => void) | undefined;
    const channel = admin
      .channel(ADMIN_JOBS_TOPIC, { config: { private: true } })
      .on('broadcast', { event: ADMIN_JOBS_EVENT }, (message) => {
        payloads.push(message.payload as Record<string, unknown>);
        received.push(...parseAdminJobChanges(message.payload));
        notify?.();
      });
    await subscribe(channel);

    const alice = await signedIn('alice');
    const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: 'a red kite' });
    assert.equal(error, null);
    const id = (job as { id: string }).id;

    const arrived = (): AdminJobChange | undefined => received.find((c) => c.id === id);
    if (!arrived()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no jobs_changed within 10 s')), 10_000);
        notify = () => {
          if (arrived()) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    }
    const change = arrived()!;
    assert.equal(change.status, 'queued');
    // A new job has no previous status.
    assert.equal(change.old_status, null);
    assert.equal(change.model_id, FLASH);
    assert.equal(Date.parse(change.updated_at), Date.parse((job as { updated_at: string }).updated_at));
    for (const payload of payloads) assert.deepEqual(Object.keys(payload), ['jobs'], 'no user, no prompt: only the entries');
  });

  test('alice may not join admin:jobs', async () => {
    const alice = await signedIn('alice');
    await assert.rejects(subscribe(alice.channel('admin:jobs', { config: { private: true } })), /Unauthorized/);
  });
});
