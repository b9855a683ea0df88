import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_USERS } from '../local/testing.ts';
import { jobsInEveryState, openTestDb, rejects, type JobsInEveryState, type TestDb } from './fixtures.ts';

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
      /violates check constraint "jobs_lease_iff_running"/,
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
