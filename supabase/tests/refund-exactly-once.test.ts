import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { as, balance, claim, createJob, testDbForFile, type Actor } from '../../testkit/database/fixtures.ts';

const t = testDbForFile(8);

const GATE = 7_413_052_777;

/**
 * Runs the racers at the same instant: each first waits on a shared advisory lock that a gate
 * connection holds exclusively, and the gate opens once all of them are queued behind it.
 */
async function race(racers: { actor: Actor; sql: string; params: unknown[] }[]): Promise<PromiseSettledResult<unknown>[]> {
  const gate = new pg.Client({ connectionString: t.database.url });
  await gate.connect();
  try {
    await gate.query('select pg_advisory_lock($1)', [GATE]);
    const running = Promise.allSettled(
      racers.map((r) =>
        as(t.db, r.actor, async (c) => {
          await c.query('select pg_advisory_xact_lock_shared($1)', [GATE]);
          return (await c.query(r.sql, r.params)).rows;
        }),
      ),
    );
    // No event says "all racers are waiting": poll pg_locks, bounded.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await gate.query<{ n: number }>(
        `select count(*)::integer as n from pg_locks where locktype = 'advisory' and not granted and objid = ($1::bigint & 4294967295)::oid`,
        [GATE],
      );
      if (rows[0]!.n === racers.length) break;
      if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} of ${racers.length} racers reached the gate`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await gate.query('select pg_advisory_unlock($1)', [GATE]);
    return await running;
  } finally {
    await gate.end();
  }
}

describe('refunds under concurrency', () => {
  test('fail_and_refund_jobs, the reaper and the worker failing the same job at once: exactly one refund', async () => {
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const job = await createJob(t.db);
      // One attempt, lease already expired: each of the three would end it failed and refund it.
      await t.db.query('update public.jobs set max_attempts = 1 where id = $1', [job.id]);
      const [running] = await claim(t.db, 1, 'worker', 60);
      assert.equal(running!.id, job.id);
      await t.db.query(`update public.jobs set lease_expires_at = now() - interval '1 second' where id = $1`, [job.id]);
      const before = await balance(t.db, 'alice');

      const racers = [
        { actor: 'support' as Actor, sql: `select * from public.fail_and_refund_jobs($1::uuid[], 'stuck job')`, params: [[job.id]] },
        { actor: 'service' as Actor, sql: 'select public.reap_expired_jobs() as r', params: [] },
        { actor: 'service' as Actor, sql: `select public.fail_job($1, $2, 'server_error', 'gave up', false) as r`, params: [job.id, running!.lease_token] },
      ];
      // Rotate who enters first so different interleavings are exercised.
      const ordered = [...racers.slice(round % 3), ...racers.slice(0, round % 3)];
      const results = await race(ordered);
      for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');

      const { rows: refunds } = await t.db.query(`select delta from public.credit_ledger where job_id = $1 and reason = 'job_refund'`, [job.id]);
      assert.equal(refunds.length, 1, `round ${round}: exactly one refund`);
      assert.equal(await balance(t.db, 'alice'), before + 1);
      const { rows: failed } = await t.db.query(`select count(*)::integer as n from public.job_events where job_id = $1 and to_status = 'failed'`, [job.id]);
      assert.equal(failed[0].n, 1, 'one failed transition');
    }
    const { rows } = await t.db.query(
      `select a.balance, (select sum(delta) from public.credit_ledger where user_id = $1) as ledger from public.credit_accounts a where user_id = $1`,
      [DEMO_USERS.alice.id],
    );
    assert.equal(rows[0].balance, rows[0].ledger);
  });

  test('two staff members failing-and-refunding the same jobs at once: one refund each job', async () => {
    const jobs = [await createJob(t.db), await createJob(t.db), await createJob(t.db)];
    const ids = jobs.map((j) => j.id);
    const before = await balance(t.db, 'alice');
    const results = await race([
      { actor: 'support', sql: `select * from public.fail_and_refund_jobs($1::uuid[], 'ticket 1')`, params: [ids] },
      { actor: 'admin', sql: `select * from public.fail_and_refund_jobs($1::uuid[], 'ticket 2')`, params: [[...ids].reverse()] },
    ]);
    const outcomes = results.flatMap((r) => (r.status === 'fulfilled' ? (r.value as { outcome: string }[]) : [])).map((r) => r.outcome);
    assert.equal(outcomes.filter((o) => o === 'done').length, 3);
    assert.equal(outcomes.filter((o) => o === 'skipped').length, 3);
    assert.equal(await balance(t.db, 'alice'), before + 3);
  });
});
