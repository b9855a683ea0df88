import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { balance, claim, createJob, testDbForFile, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

async function balancesMatchLedger(): Promise<void> {
  const { rows } = await t.db.query(`
    select a.user_id, a.balance, coalesce(sum(l.delta), 0) as ledger
      from public.credit_accounts a left join public.credit_ledger l on l.user_id = a.user_id
     group by a.user_id, a.balance`);
  assert.ok(rows.length > 0);
  for (const r of rows) assert.equal(r.balance, r.ledger, `balance of ${r.user_id} equals the sum of its ledger`);
}

describe('credits ledger invariants', () => {
  test('the seed grants starting credits through the ledger', async () => {
    assert.equal(await balance(t.db, 'alice'), 100);
    assert.equal(await balance(t.db, 'bob'), 20);
    await balancesMatchLedger();
  });

  test('balance = sum(ledger) after charges, refunds, retries and grants', async () => {
    const a = await createJob(t.db);
    const b = await createJob(t.db, 'alice', 'gemini-3-pro-image-preview');
    const [running] = await claim(t.db);
    await query(t.db, 'service', `select public.fail_job($1, $2, 'not_found', 'no such model', false)`, [running!.id, running!.lease_token]);
    await query(t.db, 'admin', `select * from public.retry_jobs($1::uuid[], 'try again')`, [[running!.id]]);
    await query(t.db, 'support', `select * from public.fail_and_refund_jobs($1::uuid[], 'stuck')`, [[a.id, b.id]]);
    await query(t.db, 'support', `select public.grant_credits($1, 7, 'sorry')`, [DEMO_USERS.bob.id]);
    await balancesMatchLedger();
  });

  test('the ledger is append-only, even for a superuser', async () => {
    await rejects(t.db.query('update public.credit_ledger set delta = 1000'), '42501', 'public.credit_ledger is append-only: update is not allowed');
    await rejects(t.db.query('delete from public.credit_ledger'), '42501', 'public.credit_ledger is append-only: delete is not allowed');
    await rejects(t.db.query('truncate public.credit_ledger'), '42501', 'public.credit_ledger is append-only: truncate is not allowed');
  });

  test('balances cannot be written directly, even by a superuser', async () => {
    await rejects(
      t.db.query('update public.credit_accounts set balance = 1000000 where user_id = $1', [DEMO_USERS.alice.id]),
      '42501',
      'credit balances change only through credit_ledger',
    );
    await rejects(t.db.query('delete from public.credit_accounts'), '42501', 'credit balances change only through credit_ledger');
  });

  test('a balance never goes negative, whatever is inserted into the ledger', async () => {
    const bob = await balance(t.db, 'bob');
    await rejects(
      t.db.query(`insert into public.credit_ledger (user_id, delta, reason, actor_role) values ($1, $2, 'adjustment', 'database')`, [
        DEMO_USERS.bob.id,
        -(bob + 1),
      ]),
      '23514',
      /violates check constraint "balance_never_negative"/,
    );
    assert.equal(await balance(t.db, 'bob'), bob);
  });

  test('a charge is refunded at most once, even by hand', async () => {
    const job = await createJob(t.db);
    await query(t.db, 'support', `select * from public.fail_and_refund_jobs($1::uuid[], 'stuck')`, [[job.id]]);
    await rejects(
      t.db.query(
        `insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_role) values ($1, 1, 'job_refund', $2, 1, 'database')`,
        [DEMO_USERS.alice.id, job.id],
      ),
      '23505',
      /credit_ledger_one_refund_per_charge/,
    );
  });

  test('a refund must match a charge of the same job, for the same amount', async () => {
    const job = await createJob(t.db);
    await rejects(
      t.db.query(
        `insert into public.credit_ledger (user_id, delta, reason, job_id, charge_seq, actor_role) values ($1, 50, 'job_refund', $2, 1, 'database')`,
        [DEMO_USERS.alice.id, job.id],
      ),
      '23514',
      `a refund must match a charge of the same job (job ${job.id}, charge 1)`,
    );
  });

  test('end users read only their own ledger and balance', async () => {
    const rows = await query(t.db, 'bob', 'select distinct user_id from public.credit_ledger');
    assert.deepEqual(rows.map((r) => r.user_id), [DEMO_USERS.bob.id]);
    const accounts = await query(t.db, 'bob', 'select user_id from public.credit_accounts');
    assert.deepEqual(accounts.map((r) => r.user_id), [DEMO_USERS.bob.id]);
  });
});
