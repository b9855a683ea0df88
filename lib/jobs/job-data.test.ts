import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS, startTestStack, type TestStack } from '../../supabase/tests/support/database.ts';
import { FLASH, PRO } from '../../supabase/tests/support/fixtures.ts';
import { fetchBalance } from '../credits/balance-query.ts';
import { creditKeys } from '../credits/keys.ts';
import { fetchJobRefund } from '../credits/job-refund-query.ts';
import { fetchModels } from '../models/models-query.ts';
import { makeQueryClient } from '../query/make-query-client.ts';
import { cancelJob } from './cancel-job-mutation.ts';
import { createJob, JobActionError } from './create-job-mutation.ts';
import { fetchJob } from './job-query.ts';
import type { Job } from './job-schema.ts';
import { fetchJobHistory } from './jobs-list-query.ts';
import { jobKeys } from './keys.ts';
import { applyJobChange } from './use-job-realtime.ts';

/**
 * The end-user data layer against the real gateway and Postgres, signed in as demo users:
 * what the pages read and the errors the form shows come from here.
 */
let stack: TestStack;
const clients: SupabaseClient[] = [];

async function signIn(user: keyof typeof DEMO_USERS): Promise<SupabaseClient> {
  const client = createTestClient(stack, stack.publishableKey);
  const { error } = await client.auth.signInWithPassword({ email: DEMO_USERS[user].email, password: DEMO_PASSWORD });
  assert.equal(error, null);
  clients.push(client);
  return client;
}

async function expectJobError(promise: Promise<unknown>, kind: string): Promise<string> {
  const error = await promise.then(
    () => assert.fail(`expected a ${kind} error`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof JobActionError, String(error));
  assert.equal(error.view.kind, kind, error.message);
  return error.message;
}

const input = (over: Partial<Parameters<typeof createJob>[1]> = {}) => ({
  modelId: FLASH,
  prompt: 'jobdata: a lighthouse at dusk',
  aspectRatio: '1:1' as const,
  numberOfImages: 1,
  ...over,
});

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  for (const client of clients) await client.removeAllChannels();
  await stack.stop();
});

describe('reading', () => {
  test('the models list carries prices and enabled flags for the form', async () => {
    const models = await fetchModels(await signIn('alice'));
    assert.deepEqual(
      models.map((m) => [m.id, m.credits_per_job, m.enabled]),
      [
        [FLASH, 1, true],
        [PRO, 4, true],
      ],
    );
  });

  test("another user's job, or a malformed id, reads as not found", async () => {
    const bob = await signIn('bob');
    const bobsJob = await createJob(bob, input({ prompt: 'jobdata: bob only' }));
    const alice = await signIn('alice');
    assert.equal(await fetchJob(alice, bobsJob.id), null);
    assert.equal(await fetchJob(alice, 'not-a-uuid'), null);
    assert.equal((await fetchJob(bob, bobsJob.id))?.prompt, 'jobdata: bob only');
    const history = await fetchJobHistory(alice, DEMO_USERS.alice.id);
    assert.ok(history.every((job) => job.user_id === DEMO_USERS.alice.id));
  });
});

describe('creating and cancelling', () => {
  test('a job is charged its cost, listed newest first, and a cancel refunds it', async () => {
    const alice = await signIn('alice');
    const before = await fetchBalance(alice, DEMO_USERS.alice.id);
    const job = await createJob(alice, input({ modelId: PRO, numberOfImages: 2 }));
    assert.equal(job.status, 'queued');
    assert.equal(job.credits_cost, 8);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before - 8);
    assert.equal((await fetchJobHistory(alice, DEMO_USERS.alice.id))[0]?.id, job.id);

    assert.deepEqual(await cancelJob(alice, job.id), { outcome: 'done', message: null });
    assert.equal((await fetchJob(alice, job.id))?.status, 'cancelled');
    assert.equal(await fetchJobRefund(alice, job.id), 8);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before);
    // A second cancel changes nothing and refunds nothing more.
    assert.equal((await cancelJob(alice, job.id)).outcome, 'skipped');
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before);
  });

  test('invalid prompts and a disabled model come back as their own errors', async () => {
    const alice = await signIn('alice');
    assert.match(await expectJobError(createJob(alice, input({ prompt: '   ' })), 'invalid'), /Prompt is required/);
    assert.match(await expectJobError(createJob(alice, input({ prompt: 'x'.repeat(4001) })), 'invalid'), /too long/);
    await stack.db.query('update public.models set enabled = false where id = $1', [PRO]);
    try {
      await expectJobError(createJob(alice, input({ modelId: PRO })), 'disabled_model');
    } finally {
      await stack.db.query('update public.models set enabled = true where id = $1', [PRO]);
    }
  });

  test('running out of credits is a credits error with the numbers', async () => {
    const alice = await signIn('alice');
    const balance = await fetchBalance(alice, DEMO_USERS.alice.id);
    // 16 credits a job (4 credits x 4 images) until less than 16 is left.
    for (let left = balance; left >= 16; left -= 16) await createJob(alice, input({ modelId: PRO, numberOfImages: 4 }));
    const message = await expectJobError(createJob(alice, input({ modelId: PRO, numberOfImages: 4 })), 'credits');
    assert.match(message, /costs 16 credits and your balance is \d+/);
  });

  test('the queued-jobs limit is the rate-limit error', async () => {
    const bob = await signIn('bob');
    const queued = (await fetchJobHistory(bob, DEMO_USERS.bob.id)).filter((j) => j.status === 'queued').length;
    for (let i = queued; i < 20; i++) await createJob(bob, input({ prompt: `jobdata: bob ${i}` }));
    await expectJobError(createJob(bob, input()), 'rate_limit');
  });
});

describe('live updates', () => {
  test("a change event patches the cached job and list without a fetch, and an ending refreshes credits", async () => {
    const alice = await signIn('alice');
    await stack.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note) values ($1, 10, 'grant', 'database', 'test')`,
      [DEMO_USERS.alice.id],
    );
    const job = await createJob(alice, input({ prompt: 'jobdata: live' }));
    const queryClient = makeQueryClient();
    queryClient.setQueryData(jobKeys.detail(job.id), job);
    queryClient.setQueryData(jobKeys.list(DEMO_USERS.alice.id), [job]);
    queryClient.setQueryData(creditKeys.balance(DEMO_USERS.alice.id), 0);

    const seen: Job[] = [];
    const unsubscribeCache = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'success' && event.query.queryKey[1] === 'detail') {
        seen.push(event.query.state.data as Job);
      }
    });
    let channel!: ReturnType<typeof alice.channel>;
    await new Promise<void>((resolve, reject) => {
      channel = alice
      .channel(`test-job:${job.id}`)
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'jobs', filter: `id=eq.${job.id}` }, (payload) =>
        applyJobChange(queryClient, payload),
      )
        .subscribe((status, err) => (status === 'SUBSCRIBED' ? resolve() : err && reject(err)));
    });

    // Progress moves without a state change (what a heartbeat does), then the owner cancels.
    await stack.db.query(`update public.jobs set progress = 40, stage = 'generating', updated_at = now() where id = $1`, [job.id]);
    await cancelJob(alice, job.id);

    const deadline = Date.now() + 10_000;
    while (queryClient.getQueryData<Job>(jobKeys.detail(job.id))?.status !== 'cancelled') {
      assert.ok(Date.now() < deadline, 'the cancel event did not reach the cache');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    unsubscribeCache();
    await alice.removeChannel(channel);

    assert.ok(seen.some((j) => j.progress === 40 && j.stage === 'generating'), 'the progress event was applied');
    assert.equal(queryClient.getQueryData<Job[]>(jobKeys.list(DEMO_USERS.alice.id))?.[0]?.status, 'cancelled');
    assert.equal(queryClient.getQueryState(creditKeys.balance(DEMO_USERS.alice.id))?.isInvalidated, true);
    // Nothing in the cache was fetched: every state came from an event.
    assert.equal(queryClient.getQueryState(jobKeys.detail(job.id))?.fetchStatus, 'idle');
    assert.equal(queryClient.getQueryState(jobKeys.detail(job.id))?.dataUpdateCount, 1 + seen.length);
  });
});
