import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { jobsInEveryState, openTestDb, rejects, type JobsInEveryState, type TestDb } from '../../testkit/database/fixtures.ts';

let t: TestDb;
let jobs: JobsInEveryState;
before(async () => {
  t = await openTestDb();
  jobs = await jobsInEveryState(t.db);
});
after(async () => {
  await t.close();
});

const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const LISTED = new Set([
  'queued>running',
  'running>succeeded',
  'running>queued',
  'running>failed',
  'queued>failed',
  'queued>cancelled',
  'running>cancelled',
  'failed>queued',
  'cancelled>queued',
]);

/** A superuser UPDATE, in a transaction rolled back afterwards: only the state check is tested. */
async function forceStatus(id: string, to: string): Promise<void> {
  const client = await t.db.connect();
  try {
    await client.query('begin');
    // The lease columns follow the status so the lease constraint is not what refuses it.
    await client.query(
      `update public.jobs set status = $2,
              lease_token = case when $2 = 'running' then extensions.gen_random_uuid() end,
              lease_expires_at = case when $2 = 'running' then now() + interval '1 minute' end
        where id = $1`,
      [id, to],
    );
  } finally {
    await client.query('rollback');
    client.release();
  }
}

describe('the job state machine, enforced by the table', () => {
  const from: Record<(typeof STATES)[number], keyof JobsInEveryState> = {
    queued: 'queued',
    running: 'running',
    succeeded: 'succeeded',
    failed: 'failed',
    cancelled: 'cancelled',
  };
  for (const a of STATES) {
    for (const b of STATES) {
      if (a === b) continue;
      const legal = LISTED.has(`${a}>${b}`);
      test(`${a} -> ${b} is ${legal ? 'allowed' : 'refused, even for a superuser'}`, async () => {
        const update = forceStatus(jobs[from[a]].id, b);
        if (legal) await update;
        else await rejects(update, '23514', `illegal job transition: ${a} -> ${b}`);
      });
    }
  }

  test('a job cannot be created in any state but queued', async () => {
    await rejects(
      t.db.query(
        `insert into public.jobs (user_id, model_id, prompt, status, max_attempts, credits_cost, deadline_at)
         values ($1, 'gemini-2.5-flash-image', 'x', 'succeeded', 3, 0, now() + interval '1 hour')`,
        [DEMO_USERS.alice.id],
      ),
      '23514',
      'illegal job transition: a job is created queued, not succeeded',
    );
  });

  test('a running job always holds a lease, and nothing else does', async () => {
    await rejects(
      t.db.query(`update public.jobs set lease_token = null where id = $1`, [jobs.running.id]),
      '23514',
      'new row for relation "jobs" violates check constraint "jobs_row_valid"',
    );
  });

  test('every row rule is enforced, with the constraint and the broken rule in the error, and nothing changes', async () => {
    const cases: [string, string, string][] = [
      [jobs.queued.id, `status = 'paused'`, 'status must be queued, running, succeeded, failed or cancelled, not paused'],
      [jobs.running.id, `lease_token = null`, 'a running job must hold a lease (lease_token and lease_expires_at)'],
      [jobs.running.id, `lease_expires_at = null`, 'a running job must hold a lease (lease_token and lease_expires_at)'],
      [jobs.queued.id, `lease_token = extensions.gen_random_uuid(), lease_expires_at = now()`, 'only a running job holds a lease, and this one is queued'],
      [jobs.succeeded.id, `lease_token = extensions.gen_random_uuid(), lease_expires_at = now()`, 'only a running job holds a lease, and this one is succeeded'],
      [jobs.running.id, `progress = 101`, 'progress must be between 0 and 100, not 101'],
      [jobs.running.id, `progress = -1`, 'progress must be between 0 and 100, not -1'],
      [jobs.queued.id, `attempt = -1`, 'attempt must be 0 or more, not -1'],
      [jobs.queued.id, `max_attempts = 0`, 'max_attempts must be 1 or more, not 0'],
      [jobs.queued.id, `credits_cost = -5`, 'credits_cost must be 0 or more, not -5'],
      [jobs.queued.id, `charge_seq = 0`, 'charge_seq must be 1 or more, not 0'],
    ];
    for (const [id, set, rule] of cases) {
      const before = await t.db.query('select to_jsonb(j) as row from public.jobs j where id = $1', [id]);
      const error = await t.db.query(`update public.jobs set ${set} where id = $1`, [id]).then(
        () => assert.fail(`${set} was accepted`),
        (e: { code?: string; message?: string; detail?: string; constraint?: string; table?: string }) => e,
      );
      assert.deepEqual(
        { code: error.code, message: error.message, detail: error.detail, constraint: error.constraint, table: error.table },
        { code: '23514', message: 'new row for relation "jobs" violates check constraint "jobs_row_valid"', detail: rule, constraint: 'jobs_row_valid', table: 'jobs' },
        set,
      );
      const after = await t.db.query('select to_jsonb(j) as row from public.jobs j where id = $1', [id]);
      assert.deepEqual(after.rows[0].row, before.rows[0].row, set);
    }
    // A new row is held to the same rules.
    await rejects(
      t.db.query(
        `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
         values ($1, $2, 'x', 0, 0, now() + interval '1 hour')`,
        [jobs.queued.user_id, jobs.queued.model_id],
      ),
      '23514',
      'new row for relation "jobs" violates check constraint "jobs_row_valid"',
    );
  });

  test('every transition the fixture made is in the timeline, in order', async () => {
    const { rows } = await t.db.query(`select from_status, to_status from public.job_events where job_id = $1 order by id`, [jobs.delayed.id]);
    assert.deepEqual(rows, [
      { from_status: null, to_status: 'queued' },
      { from_status: 'queued', to_status: 'running' },
      { from_status: 'running', to_status: 'queued' },
    ]);
  });

  test('a direct superuser UPDATE still writes its event, attributed to the database', async () => {
    const client = await t.db.connect();
    try {
      await client.query('begin');
      await client.query(`update public.jobs set status = 'cancelled' where id = $1`, [jobs.queued.id]);
      const { rows } = await client.query(`select from_status, to_status, actor_role from public.job_events where job_id = $1 order by id desc limit 1`, [jobs.queued.id]);
      assert.deepEqual(rows[0], { from_status: 'queued', to_status: 'cancelled', actor_role: 'database' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  test('the timeline is append-only', async () => {
    await rejects(t.db.query('delete from public.job_events'), '42501', 'public.job_events is append-only: delete is not allowed');
    await rejects(t.db.query(`update public.job_events set to_status = 'succeeded'`), '42501', 'public.job_events is append-only: update is not allowed');
  });
});
