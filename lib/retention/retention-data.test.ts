import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '@/lib/supabase/database';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { moveJobsBack } from '../../testkit/database/fixtures.ts';
import { fetchAdminJob } from '../admin-jobs/admin-job-query.ts';
import { fetchJobRecords, prunedRecords } from '../admin-jobs/job-records-query.ts';
import { fetchRetentionStatus, mayBeOff } from './retention-status-query.ts';
import { setRetentionWindow } from './set-window-mutation.ts';

/**
 * The Data retention page's data layer and the job page's "pruned" notice, through the gateway
 * with the official client, signed in as the demo accounts.
 */
let stack: TestStack;
let admin: DatabaseClient;
let support: DatabaseClient;
let alice: DatabaseClient;

const signIn = async (user: keyof typeof DEMO_USERS) => (await signedInClient(stack, user)).client;

before(async () => {
  stack = await startTestStack();
  [admin, support, alice] = await Promise.all([signIn('admin'), signIn('support'), signIn('alice')]);
});
after(async () => {
  await Promise.all([admin, support, alice].map((c) => c?.auth.signOut()));
  await stack?.stop();
});

describe('data retention', () => {
  test('support reads every table and window; an end user is refused', async () => {
    await stack.db.query('select public.prune_expired_data()');
    const status = await fetchRetentionStatus(support);
    const jobEvents = status.policies.find((p) => p.kind === 'job_events')!;
    assert.equal(jobEvents.keep_days, 21);
    assert.ok(jobEvents.last_pruned_at, 'the pass is recorded');
    assert.ok(status.tables.some((t) => t.relation === 'public.jobs' && t.kind === 'kept'));
    await assert.rejects(fetchRetentionStatus(alice), /requires the support or admin role/);
  });

  test('an admin changes a window with a reason; support cannot; out of bounds changes nothing', async () => {
    await assert.rejects(setRetentionWindow(support, { kind: 'provider_calls', days: 14, reason: 'r' }), /requires the admin role/);
    await assert.rejects(
      setRetentionWindow(admin, { kind: 'provider_calls', days: 2, reason: 'too short' }),
      { message: 'Gemini call records must be kept between 7 and 365 days (asked: 2 days)' },
    );
    assert.equal((await fetchRetentionStatus(admin)).policies.find((p) => p.kind === 'provider_calls')!.keep_days, 21);
    await setRetentionWindow(admin, { kind: 'provider_calls', days: 14, reason: 'two weeks is enough' });
    assert.equal((await fetchRetentionStatus(admin)).policies.find((p) => p.kind === 'provider_calls')!.keep_days, 14);
    const { rows } = await stack.db.query(`select reason, after from public.audit_log where action = 'set_retention_window'`);
    assert.deepEqual(rows, [{ reason: 'two weeks is enough', after: { keep_days: 14 } }]);
  });

  test('the result images\' window is off until an admin sets it, and an empty value turns it off again', async () => {
    const images = async () => (await fetchRetentionStatus(admin)).policies.find((p) => p.kind === 'result_images')!;
    assert.deepEqual([(await images()).keep_days, mayBeOff(await images())], [null, true]);
    assert.equal(mayBeOff((await fetchRetentionStatus(admin)).policies.find((p) => p.kind === 'job_events')!), false);
    await setRetentionWindow(admin, { kind: 'result_images', days: 90, reason: 'a quarter is enough' });
    assert.equal((await images()).keep_days, 90);
    await assert.rejects(setRetentionWindow(support, { kind: 'result_images', days: null, reason: 'r' }), /requires the admin role/);
    await setRetentionWindow(admin, { kind: 'result_images', days: null, reason: 'keep them after all' });
    assert.equal((await images()).keep_days, null);
    // Only a window that may be off takes no value.
    await assert.rejects(
      setRetentionWindow(admin, { kind: 'provider_calls', days: null, reason: 'r' }),
      { message: 'Gemini call records must be kept between 7 and 365 days (asked: no value days)' },
    );
  });

  test('a job whose timeline and calls were pruned says so; a recent one does not', async () => {
    const { data, error } = await alice.rpc('create_job', { p_model_id: 'gemini-2.5-flash-image', p_prompt: 'retention' });
    assert.equal(error, null);
    const id = (data as { id: string }).id;
    const [claimed] = (await stack.db.query(`select id, lease_token from public.claim_jobs('w', 1, 60)`)).rows;
    assert.equal(claimed.id, id);
    await stack.db.query(`select public.record_provider_call('gemini-2.5-flash-image', now(), 900, 'ok', 200, $1, 1)`, [id]);
    await stack.db.query('select public.complete_job($1, $2)', [id, claimed.lease_token]);

    const fresh = prunedRecords((await fetchAdminJob(admin, id))!, await fetchJobRecords(admin, id));
    assert.deepEqual(fresh, { timeline: null, calls: null });

    // Forty days ago, as far as this job is concerned; then the pass runs as its schedule would.
    await moveJobsBack(stack.db, [id], 40);
    await stack.db.query('select public.prune_expired_data()');
    const job = await fetchAdminJob(admin, id);
    assert.equal(job!.status, 'succeeded', 'the job itself is kept');
    const records = await fetchJobRecords(admin, id);
    assert.equal(records.events.length, 0);
    assert.equal(records.ledger.length, 1, 'its charge is kept');
    assert.deepEqual(prunedRecords(job!, records), { timeline: 21, calls: 14 });
  });
});
