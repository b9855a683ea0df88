import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAdminJobChange } from '../../lib/admin-jobs/admin-job-change.ts';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { closeClients, subscribe } from '../../testkit/realtime/channels.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH } from '../../testkit/database/fixtures.ts';

/**
 * The admin console's live feed end to end: the official client joins the private topic
 * 'admin:jobs' through the gateway's Realtime, and a job created through the REST API arrives
 * as a job_changed broadcast. End users are refused the topic.
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
  test('an admin receives job_changed for a job alice creates through the API', async () => {
    const admin = await signedIn('admin');
    const received: Record<string, unknown>[] = [];
    let notify: (() => void) | undefined;
    const channel = admin
      .channel('admin:jobs', { config: { private: true } })
      .on('broadcast', { event: 'job_changed' }, (message) => {
        received.push(message.payload as Record<string, unknown>);
        notify?.();
      });
    await subscribe(channel);

    const alice = await signedIn('alice');
    const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: 'a red kite' });
    assert.equal(error, null);
    const id = (job as { id: string }).id;

    const arrived = (): Record<string, unknown> | undefined => received.find((p) => p.id === id);
    if (!arrived()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no job_changed within 10 s')), 10_000);
        notify = () => {
          if (arrived()) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    }
    const payload = arrived()!;
    assert.equal(payload.status, 'queued');
    // A new job has no previous status: the key is left out (the console reads it as null).
    assert.equal('old_status' in payload, false);
    assert.equal(parseAdminJobChange(payload)?.old_status, null);
    assert.equal('user_id' in payload, false, 'no receiver on admin:jobs reads the user');
    assert.equal(payload.model_id, FLASH);
  });

  test('alice may not join admin:jobs', async () => {
    const alice = await signedIn('alice');
    await assert.rejects(subscribe(alice.channel('admin:jobs', { config: { private: true } })), /Unauthorized/);
  });
});
