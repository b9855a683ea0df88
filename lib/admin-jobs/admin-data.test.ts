import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '@/lib/supabase/database';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { fetchAuditPage } from '../audit/audit-log-query.ts';
import { parseAuditFilters } from '../audit/audit-filters.ts';
import { fetchUserLedger } from '../credits/user-ledger-query.ts';
import { findUsers } from '../users/find-users-query.ts';
import { grantCredits } from '../users/grant-credits-mutation.ts';
import { fetchUserProfile } from '../users/user-profile-query.ts';
import { fetchAdminJob } from './admin-job-query.ts';
import { EXPLORER_PAGE_SIZE, parseExplorerFilters } from './explorer-filters.ts';
import { runJobAction } from './job-action-mutation.ts';
import { fetchJobRecords } from './job-records-query.ts';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges } from './admin-job-change.ts';
import { explorerPageQueryOptions, fetchExplorerPage, type ExplorerPage } from './jobs-explorer-query.ts';
import { adminJobKeys } from './keys.ts';
import { patchExplorerPages } from './use-admin-jobs-live.ts';
import { makeQueryClient } from '../query/make-query-client.ts';

/**
 * The admin console's data layer against the real gateway and Postgres, signed in as the demo
 * staff accounts: the explorer's filters and pages, a job's records, actions, user lookup and
 * grants, and the audit log's filters.
 */
let stack: TestStack;
let admin: DatabaseClient;
let support: DatabaseClient;
let alice: DatabaseClient;
const marker = `admindata-${Date.now().toString(36)}`;
const ids: string[] = [];

const signIn = async (user: keyof typeof DEMO_USERS) => (await signedInClient(stack, user)).client;

before(async () => {
  stack = await startTestStack();
  [admin, support, alice] = await Promise.all([signIn('admin'), signIn('support'), signIn('alice')]);
  // Nothing claims jobs here (no worker), so they stay queued.
  for (const prompt of [`${marker} 100%_literal`, `${marker} 100 percent`, `${marker} plain`]) {
    const { data, error } = await alice.rpc('create_job', { p_model_id: 'gemini-2.5-flash-image', p_prompt: prompt });
    assert.equal(error, null);
    ids.push((data as { id: string }).id);
  }
});
after(async () => {
  await Promise.all([admin, support, alice].map((c) => c?.auth.signOut()));
  await stack?.stop();
});

describe('job explorer', () => {
  test('a prompt search matches text, with % and _ taken literally, newest first', async () => {
    const page = await fetchExplorerPage(admin, parseExplorerFilters({ q: marker }));
    assert.deepEqual(page.rows.map((r) => r.id), [...ids].reverse());
    assert.ok(page.searchedSince, 'a prompt search without a start time is bounded');
    const literal = await fetchExplorerPage(admin, parseExplorerFilters({ q: `${marker} 100%_` }));
    assert.deepEqual(literal.rows.map((r) => r.id), [ids[0]]);
    assert.deepEqual(literal.total, { estimated: false, value: 1 });
  });

  test('an id finds exactly that job; filters combine', async () => {
    assert.deepEqual((await fetchExplorerPage(support, parseExplorerFilters({ q: ids[1]! }))).rows.map((r) => r.id), [ids[1]]);
    const none = await fetchExplorerPage(admin, parseExplorerFilters({ q: marker, status: 'failed' }));
    assert.deepEqual(none.rows, []);
    const mine = await fetchExplorerPage(admin, parseExplorerFilters({ q: marker, status: 'queued', user: DEMO_USERS.alice.id, model: 'gemini-2.5-flash-image' }));
    assert.equal(mine.rows.length, 3);
  });

  test('a page holds at most the page size, says whether another follows, and carries an estimated total', async () => {
    const { rows } = await stack.db.query<{ n: number }>('select count(*)::int as n from public.jobs');
    const total = rows[0]!.n;
    const first = await fetchExplorerPage(admin, parseExplorerFilters({}));
    assert.equal(first.rows.length, Math.min(total, EXPLORER_PAGE_SIZE));
    assert.equal(first.hasNextPage, total > EXPLORER_PAGE_SIZE);
    if (!first.hasNextPage) assert.deepEqual(first.total, { estimated: false, value: total });
    else assert.ok(first.total.estimated && first.total.value > EXPLORER_PAGE_SIZE);
    const past = await fetchExplorerPage(admin, parseExplorerFilters({ page: String(Math.floor(total / EXPLORER_PAGE_SIZE) + 2) }));
    assert.deepEqual([past.rows, past.hasNextPage], [[], false]);
  });

  test('an end user sees only their own jobs, even through the admin query', async () => {
    const page = await fetchExplorerPage(alice, parseExplorerFilters({}));
    assert.ok(page.rows.every((r) => r.user_id === DEMO_USERS.alice.id));
  });

  test('a page refetch that read a row before its live change lands after the change and leaves it in place', async () => {
    const crossing = `${marker}-crossing`;
    const { data, error } = await alice.rpc('create_job', { p_model_id: 'gemini-2.5-flash-image', p_prompt: crossing });
    assert.equal(error, null);
    const jobId = (data as { id: string }).id;
    const filters = parseExplorerFilters({ q: crossing });
    const queryClient = makeQueryClient();
    await queryClient.fetchQuery(explorerPageQueryOptions(admin, filters));

    // A refetch (a resync, "show new jobs") reads the row still queued; its answer is held back.
    let release!: () => void;
    const answers = new Promise<void>((resolve) => (release = resolve));
    let read: Promise<ExplorerPage> | undefined;
    const refetch = queryClient.fetchQuery({
      ...explorerPageQueryOptions(admin, filters),
      staleTime: 0,
      queryFn: () => (read = fetchExplorerPage(admin, filters)).then(async (page) => (await answers, page)),
    });
    while (!read) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual((await read).rows.map((r) => r.status), ['queued']);

    // The owner cancels; the console applies the change (the cancel's message as the database wrote it).
    const { error: cancelError } = await alice.rpc('cancel_jobs', { ids: [jobId], reason: 'crossing' });
    assert.equal(cancelError, null);
    const { rows } = await stack.db.query('select payload from realtime.messages where topic = $1 and event = $2 order by inserted_at', [
      ADMIN_JOBS_TOPIC,
      ADMIN_JOBS_EVENT,
    ]);
    const change = rows.flatMap((r) => parseAdminJobChanges(r.payload)).filter((c) => c.id === jobId).at(-1)!;
    assert.deepEqual([change.old_status, change.status], ['queued', 'cancelled']);
    patchExplorerPages(queryClient, new Map([[jobId, change]]));
    const row = () => queryClient.getQueryData<ExplorerPage>(adminJobKeys.list(filters))!.rows[0]!;
    assert.equal(row().status, 'cancelled');

    release();
    await refetch;
    assert.equal(row().status, 'cancelled', 'the older page did not undo the change');
  });
});

describe('job actions and records', () => {
  test('fail-and-refund by support: outcomes per job, then the timeline, ledger and audit show it', async () => {
    const outcomes = await runJobAction(support, { action: 'fail_and_refund', ids: [ids[2]!, ids[2]!], reason: '  ticket 7  ' });
    assert.deepEqual(outcomes, [{ job_id: ids[2], outcome: 'done', status: 'failed', message: null }]);
    const again = await runJobAction(support, { action: 'fail_and_refund', ids: [ids[2]!], reason: 'twice' });
    assert.equal(again[0]!.outcome, 'skipped');
    assert.equal(again[0]!.message, 'cannot fail and refund a failed job');

    const job = await fetchAdminJob(support, ids[2]!);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.error_class, 'failed_by_staff');
    const records = await fetchJobRecords(support, ids[2]!);
    assert.deepEqual(records.events.map((e) => e.to_status), ['queued', 'failed']);
    assert.equal(records.events[1]!.detail.reason, 'ticket 7');
    assert.deepEqual(records.ledger.map((l) => [l.reason, l.delta]), [['job_charge', -1], ['job_refund', 1]]);
    assert.deepEqual(records.audit.map((a) => [a.action, a.actor_role, a.reason]), [['fail_and_refund_jobs', 'support', 'ticket 7']]);
  });

  test('a retry by support is refused by the database, and an empty reason never leaves the client', async () => {
    await assert.rejects(runJobAction(support, { action: 'retry', ids: [ids[2]!], reason: 'x' }), /retry_jobs requires the admin role/);
    await assert.rejects(runJobAction(admin, { action: 'retry', ids: [ids[2]!], reason: '   ' }), /A reason is required/);
  });

  test('a job that does not exist, or a malformed id, is null', async () => {
    assert.equal(await fetchAdminJob(admin, '00000000-0000-4000-8000-0000000000ff'), null);
    assert.equal(await fetchAdminJob(admin, 'nope'), null);
  });
});

describe('users and audit', () => {
  test('support finds alice by email, grants credits with a reason, and sees the ledger and audit row', async () => {
    const [found] = await findUsers(support, 'ALICE@');
    assert.equal(found?.id, DEMO_USERS.alice.id);
    const granted = await grantCredits(support, found!.id, { amount: 5, reason: `goodwill ${marker}` });
    assert.equal(granted.balance, found!.balance + 5);
    assert.equal((await fetchUserProfile(support, found!.id))?.balance, found!.balance + 5);
    const [latest] = await fetchUserLedger(support, found!.id);
    assert.deepEqual([latest?.reason, latest?.delta, latest?.note], ['grant', 5, `goodwill ${marker}`]);

    const audit = await fetchAuditPage(support, parseAuditFilters({ action: 'grant_credits', target: found!.id }));
    assert.equal(audit.rows[0]?.reason, `goodwill ${marker}`);
    assert.equal(audit.rows[0]?.actor_id, DEMO_USERS.support.id);
    const byActor = await fetchAuditPage(admin, parseAuditFilters({ actor: DEMO_USERS.support.id }));
    assert.ok(byActor.rows.length >= 2 && byActor.rows.every((r) => r.actor_id === DEMO_USERS.support.id));
    const byJob = await fetchAuditPage(admin, parseAuditFilters({ target: ids[2]! }));
    assert.deepEqual(byJob.rows.map((r) => r.action), ['fail_and_refund_jobs']);
  });

  test('grants outside 1..100000 are refused before the call', async () => {
    await assert.rejects(grantCredits(support, DEMO_USERS.alice.id, { amount: 0, reason: 'x' }), /at least 1 credit/);
    await assert.rejects(grantCredits(support, DEMO_USERS.alice.id, { amount: 100_001, reason: 'x' }), /At most 100000/);
  });

  test('end users cannot look anyone up', async () => {
    await assert.rejects(findUsers(alice, 'bob'), /find_users requires the support or admin role/);
  });
});
