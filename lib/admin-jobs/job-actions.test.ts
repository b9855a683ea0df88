import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { as, identity, jobsInEveryState, openTestDb, type JobsInEveryState, type TestDb } from '../../testkit/database/fixtures.ts';
import { actionAvailability, JOB_ACTION_RPC, JOB_ACTIONS, jobActionOutcomeSchema } from './job-actions.ts';

// The console disables what the database would refuse. This holds the two together: every
// action, as every staff role, on a job in every state, is run against the real functions
// (rolled back) and must succeed exactly when the console offers it.
let t: TestDb;
let jobs: JobsInEveryState;
before(async () => {
  t = await openTestDb();
  jobs = await jobsInEveryState(t.db);
});
after(async () => {
  await t.close();
});

class Rollback extends Error {}

async function outcomeInDatabase(role: 'support' | 'admin', rpc: string, jobId: string): Promise<string> {
  let outcome = '';
  await as(t.db, role, async (c) => {
    try {
      const { rows } = await c.query(`select * from public.${rpc}(array[$1]::uuid[], 'matrix check')`, [jobId]);
      outcome = jobActionOutcomeSchema.parse(rows[0]).outcome;
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
      outcome = 'refused';
    }
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
  return outcome;
}

test('every action is offered exactly when the database would do it', async () => {
  for (const role of ['support', 'admin'] as const) {
    for (const action of JOB_ACTIONS) {
      for (const [state, job] of Object.entries(jobs)) {
        const offered = actionAvailability(action, job.status as never, role).allowed;
        const outcome = await outcomeInDatabase(role, JOB_ACTION_RPC[action], job.id);
        assert.equal(offered, outcome === 'done', `${role} ${action} on a ${state} job: offered ${offered}, database said ${outcome}`);
      }
    }
  }
});

test("a job whose owner deleted it: no action is offered, and the database does none", async () => {
  // Deleted inside the rolled-back transaction of each check, so the shared fixture stays as it is.
  for (const state of ['succeeded', 'failed', 'cancelled'] as const) {
    for (const action of JOB_ACTIONS) {
      assert.equal(actionAvailability(action, jobs[state].status as never, 'admin', true).allowed, false);
      let outcome = '';
      await as(t.db, 'alice', async (c) => {
        await c.query('select public.delete_job($1)', [jobs[state].id]);
        await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(identity('admin').claims)]);
        const { rows } = await c.query(`select * from public.${JOB_ACTION_RPC[action]}(array[$1]::uuid[], 'matrix check')`, [jobs[state].id]);
        outcome = jobActionOutcomeSchema.parse(rows[0]).outcome;
        throw new Rollback();
      }).catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
      assert.equal(outcome, 'skipped', `admin ${action} on a deleted ${state} job`);
    }
  }
  assert.deepEqual(actionAvailability('retry', 'failed', 'admin', true), { allowed: false, why: 'Its owner deleted this job' });
});

test('a disabled action says why, naming the role or the state', () => {
  assert.deepEqual(actionAvailability('retry', 'running', 'support'), { allowed: false, why: 'Only an admin can retry jobs' });
  assert.deepEqual(actionAvailability('requeue', 'queued', 'admin'), { allowed: false, why: 'Only running jobs can be requeued; this one is queued' });
  assert.deepEqual(actionAvailability('fail_and_refund', 'running', 'support'), { allowed: true });
});
