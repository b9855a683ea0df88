import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { type Actor, balance, claim, createJob, emptyQueue, getJob, jobsInEveryState, type JobsInEveryState, testDbForFile, query, rejects, statuses } from '../../testkit/database/fixtures.ts';

let jobs: JobsInEveryState;
const t = testDbForFile();
beforeEach(async () => {
  await emptyQueue(t.db);
  jobs = await jobsInEveryState(t.db);
});

interface Outcome {
  job_id: string;
  outcome: string;
  status: string | null;
  message: string | null;
}

async function act(actor: Actor, fn: string, ids: string[], reason = 'customer ticket 42'): Promise<Record<string, Outcome>> {
  const rows = await query<Outcome>(t.db, actor, `select * from public.${fn}($1::uuid[], $2)`, [ids, reason]);
  return Object.fromEntries(rows.map((r) => [r.job_id, r]));
}

async function lastAudit() {
  const { rows } = await t.db.query('select * from public.audit_log order by id desc limit 1');
  return rows[0];
}

const all = () => Object.values(jobs).map((j) => j.id);

describe('fail_and_refund_jobs', () => {
  for (const actor of ['support', 'admin'] as const) {
    test(`${actor}: fails and refunds queued and running jobs, skips the rest, audits once`, async () => {
      const before = await balance(t.db, 'alice');
      const result = await act(actor, 'fail_and_refund_jobs', all());
      assert.deepEqual(
        Object.fromEntries(Object.entries(jobs).map(([state, j]) => [state, result[j.id]!.outcome])),
        { queued: 'done', delayed: 'done', running: 'done', succeeded: 'skipped', failed: 'skipped', cancelled: 'skipped' },
      );
      assert.equal(result[jobs.succeeded.id]!.message, 'cannot fail and refund a succeeded job');
      assert.equal(result[jobs.running.id]!.status, 'failed');
      assert.equal(await balance(t.db, 'alice'), before + 3);

      const audit = await lastAudit();
      assert.equal(audit.action, 'fail_and_refund_jobs');
      assert.equal(audit.actor_id, DEMO_USERS[actor].id);
      assert.equal(audit.actor_role, actor);
      assert.equal(audit.reason, 'customer ticket 42');
      assert.deepEqual([...audit.job_ids].sort(), [jobs.queued.id, jobs.delayed.id, jobs.running.id].sort());
      assert.equal(audit.before[jobs.running.id], 'running');
      assert.equal(audit.after[jobs.running.id], 'failed');
      assert.equal(Number(audit.credits_moved), 3);
      assert.deepEqual(audit.detail, { requested: 6, done: 3, skipped: 3, not_found: 0 });

      const { rows } = await t.db.query(`select detail->>'reason' as reason, actor_role from public.job_events where job_id = $1 order by id desc limit 1`, [jobs.running.id]);
      assert.deepEqual(rows[0], { reason: 'customer ticket 42', actor_role: actor });
    });
  }

  test('the failed worker is fenced out afterwards', async () => {
    await act('support', 'fail_and_refund_jobs', [jobs.running.id]);
    const [row] = await query<{ r: { outcome: string } }>(t.db, 'service', 'select public.complete_job($1, $2) as r', [jobs.running.id, jobs.running.lease_token]);
    assert.equal(row!.r.outcome, 'fenced');
  });

  test('unknown ids are not_found; duplicate ids are acted on once', async () => {
    const missing = '00000000-0000-4000-8000-0000000000ff';
    const result = await act('admin', 'fail_and_refund_jobs', [jobs.queued.id, jobs.queued.id, missing]);
    assert.equal(Object.keys(result).length, 2);
    assert.deepEqual(result[missing], { job_id: missing, outcome: 'not_found', status: null, message: 'job not found' });
    assert.equal(result[jobs.queued.id]!.outcome, 'done');
  });

  test('end users may not', async () => {
    await rejects(act('alice', 'fail_and_refund_jobs', [jobs.queued.id]), '42501', 'permission denied: fail_and_refund_jobs requires the support or admin role (you are user)');
  });
});

describe('retry_jobs (admin)', () => {
  test('failed and cancelled jobs go back to queued and are charged again', async () => {
    const before = await balance(t.db, 'alice');
    const result = await act('admin', 'retry_jobs', all());
    assert.deepEqual(
      Object.fromEntries(Object.entries(jobs).map(([state, j]) => [state, result[j.id]!.outcome])),
      { queued: 'skipped', delayed: 'skipped', running: 'skipped', succeeded: 'skipped', failed: 'done', cancelled: 'done' },
    );
    assert.equal(await balance(t.db, 'alice'), before - 2);
    const failed = await getJob(t.db, jobs.failed.id);
    assert.equal(failed.status, 'queued');
    assert.equal(failed.charge_seq, 2);
    assert.equal(failed.max_attempts, failed.attempt + 3, 'a fresh set of attempts');
    assert.equal(Number((await lastAudit()).credits_moved), -2);
  });

  test('a retried job that fails again is refunded again, once per charge', async () => {
    await act('admin', 'retry_jobs', [jobs.failed.id]);
    await act('admin', 'fail_and_refund_jobs', [jobs.failed.id]);
    const { rows } = await t.db.query(`select reason, charge_seq, delta from public.credit_ledger where job_id = $1 order by id`, [jobs.failed.id]);
    assert.deepEqual(rows, [
      { reason: 'job_charge', charge_seq: 1, delta: '-1' },
      { reason: 'job_refund', charge_seq: 1, delta: '1' },
      { reason: 'job_charge', charge_seq: 2, delta: '-1' },
      { reason: 'job_refund', charge_seq: 2, delta: '1' },
    ]);
  });

  test('a user without enough credits is skipped with the create_job message', async () => {
    const bobJob = await createJob(t.db, 'bob', 'gemini-3-pro-image-preview', { number_of_images: 4 });
    await act('admin', 'cancel_jobs', [bobJob.id]);
    await createJob(t.db, 'bob', 'gemini-3-pro-image-preview', { number_of_images: 4 });
    const result = await act('admin', 'retry_jobs', [bobJob.id]);
    assert.deepEqual(result[bobJob.id], {
      job_id: bobJob.id,
      outcome: 'skipped',
      status: 'cancelled',
      message: 'not enough credits: this job costs 16 credits and your balance is 4',
    });
    assert.equal(await balance(t.db, 'bob'), 4);
  });

  for (const actor of ['alice', 'support'] as const) {
    test(`${actor} may not retry`, async () => {
      await rejects(act(actor, 'retry_jobs', [jobs.failed.id]), '42501', /^permission denied: retry_jobs requires the admin role/);
      assert.equal((await getJob(t.db, jobs.failed.id)).status, 'failed');
    });
  }
});

describe('requeue_jobs (admin)', () => {
  test('only a running job is requeued, run now, and its worker fenced out', async () => {
    const result = await act('admin', 'requeue_jobs', all());
    const done = Object.values(result).filter((r) => r.outcome === 'done');
    assert.deepEqual(done.map((r) => r.job_id), [jobs.running.id]);
    assert.equal(result[jobs.queued.id]!.message, 'cannot requeue a queued job');
    const job = await getJob(t.db, jobs.running.id);
    assert.equal(job.status, 'queued');
    assert.equal(job.lease_token, null);
    const [row] = await query<{ r: { fenced: boolean } }>(t.db, 'service', 'select public.heartbeat_job($1, $2) as r', [jobs.running.id, jobs.running.lease_token]);
    assert.equal(row!.r.fenced, true);
  });

  test('support may not requeue', async () => {
    await rejects(act('support', 'requeue_jobs', [jobs.running.id]), '42501', /^permission denied: requeue_jobs requires the admin role/);
  });
});

describe('cancel_jobs', () => {
  test('admin cancels queued and running jobs and refunds them', async () => {
    const before = await balance(t.db, 'alice');
    const result = await act('admin', 'cancel_jobs', all());
    assert.deepEqual(
      Object.fromEntries(Object.entries(jobs).map(([state, j]) => [state, result[j.id]!.outcome])),
      { queued: 'done', delayed: 'done', running: 'done', succeeded: 'skipped', failed: 'skipped', cancelled: 'skipped' },
    );
    assert.equal(await balance(t.db, 'alice'), before + 3);
  });

  test('a user cancels their own queued jobs, not running ones; the call is audited', async () => {
    const result = await act('alice', 'cancel_jobs', [jobs.queued.id, jobs.running.id], 'changed my mind');
    assert.equal(result[jobs.queued.id]!.outcome, 'done');
    assert.deepEqual(result[jobs.running.id], {
      job_id: jobs.running.id,
      outcome: 'skipped',
      status: 'running',
      message: 'only an admin can cancel a running job',
    });
    const audit = await lastAudit();
    assert.equal(audit.action, 'cancel_jobs');
    assert.equal(audit.actor_role, 'user');
    assert.equal(audit.actor_id, DEMO_USERS.alice.id);
  });

  test("another user's job is not_found to bob, and stays untouched", async () => {
    const before = await statuses(t.db, all());
    const result = await act('bob', 'cancel_jobs', [jobs.queued.id]);
    assert.deepEqual(result[jobs.queued.id], { job_id: jobs.queued.id, outcome: 'not_found', status: null, message: 'job not found' });
    assert.deepEqual(await statuses(t.db, all()), before);
  });

  test('support may not cancel; anon may not call at all', async () => {
    await rejects(act('support', 'cancel_jobs', [jobs.queued.id]), '42501', 'permission denied: cancel_jobs requires the user or admin role (you are support)');
    await rejects(act('anon', 'cancel_jobs', [jobs.queued.id]), '42501', 'permission denied for function cancel_jobs');
  });
});

describe('bulk action input', () => {
  const cases: [string, string[] | null, string | null, string][] = [
    ['a missing reason', ['00000000-0000-4000-8000-000000000001'], null, 'a reason is required'],
    ['a blank reason', ['00000000-0000-4000-8000-000000000001'], '   ', 'a reason is required'],
    ['an overlong reason', ['00000000-0000-4000-8000-000000000001'], 'x'.repeat(501), 'reason is too long: 501 characters, the limit is 500'],
    ['no ids', [], 'ok', 'ids must be a non-empty list of job ids'],
    ['null ids', null, 'ok', 'ids must be a non-empty list of job ids'],
  ];
  for (const [what, ids, reason, message] of cases) {
    test(`refuses ${what} with 22023 and writes nothing`, async () => {
      const audits = (await t.db.query('select count(*)::integer as n from public.audit_log')).rows[0].n;
      await rejects(query(t.db, 'admin', 'select * from public.fail_and_refund_jobs($1::uuid[], $2)', [ids, reason]), '22023', message);
      assert.equal((await t.db.query('select count(*)::integer as n from public.audit_log')).rows[0].n, audits);
    });
  }

  test('refuses more than 1000 ids', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await rejects(query(t.db, 'admin', 'select * from public.cancel_jobs($1::uuid[], $2)', [ids, 'ok']), '22023', 'too many ids: 1001, the limit is 1000 per call');
  });
});

describe('grant_credits', () => {
  for (const actor of ['support', 'admin'] as const) {
    test(`${actor} grants credits through the ledger, with an audit row`, async () => {
      const before = await balance(t.db, 'bob');
      const [row] = await query<{ r: { balance: number; granted: number } }>(t.db, actor, `select public.grant_credits($1, 25, ' goodwill ') as r`, [DEMO_USERS.bob.id]);
      assert.equal(row!.r.granted, 25);
      assert.equal(row!.r.balance, before + 25);
      const audit = await lastAudit();
      assert.equal(audit.action, 'grant_credits');
      assert.equal(audit.target_user_id, DEMO_USERS.bob.id);
      assert.equal(audit.reason, 'goodwill');
      assert.equal(Number(audit.credits_moved), 25);
      const { rows } = await t.db.query(`select reason, delta, actor_role from public.credit_ledger where user_id = $1 order by id desc limit 1`, [DEMO_USERS.bob.id]);
      assert.deepEqual(rows[0], { reason: 'grant', delta: '25', actor_role: actor });
    });
  }

  test('refuses bad amounts, a missing reason and unknown users', async () => {
    await rejects(query(t.db, 'admin', `select public.grant_credits($1, 0, 'x')`, [DEMO_USERS.bob.id]), '22023', 'amount must be a whole number of credits from 1 to 100000');
    await rejects(query(t.db, 'admin', `select public.grant_credits($1, 100001, 'x')`, [DEMO_USERS.bob.id]), '22023', 'amount must be a whole number of credits from 1 to 100000');
    await rejects(query(t.db, 'admin', `select public.grant_credits($1, 5, '')`, [DEMO_USERS.bob.id]), '22023', 'a reason is required');
    await rejects(query(t.db, 'admin', `select public.grant_credits('00000000-0000-4000-8000-0000000000ff', 5, 'x')`), 'PT404', 'user not found');
  });

  test('end users may not grant, not even to themselves', async () => {
    await rejects(
      query(t.db, 'alice', `select public.grant_credits($1, 5, 'x')`, [DEMO_USERS.alice.id]),
      '42501',
      'permission denied: grant_credits requires the support or admin role (you are user)',
    );
  });
});

describe('claiming after an admin action', () => {
  test('a cancelled job is never claimed', async () => {
    await act('admin', 'cancel_jobs', [jobs.queued.id]);
    const claimed = await claim(t.db, 10);
    assert.deepEqual(claimed, []);
  });
});
