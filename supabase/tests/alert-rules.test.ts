import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  addCallMinute,
  addJobMinute,
  evaluate,
  incidents,
  markRolledUp,
  type Incident,
} from '../../testkit/database/alerts.ts';
import { claim, createJob, FLASH, openTestDb, PRO, query, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * Each default rule, at its default settings, against data made to sit just below its
 * threshold (no incident) and then just past it (an incident for that rule and subject). Every
 * test has a database of its own, so one rule's data never feeds another's.
 */
let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
  await markRolledUp(t.db);
});
afterEach(async () => {
  await t.close();
});

/** The rules with a test in this file: each rule's tests are named for it, its id first. */
const tested = new Set<string>();
function ruleTest(name: string, fn: () => Promise<void>) {
  tested.add(name.split(' ')[0]!);
  test(name, fn);
}

/** Evaluates, then the open incidents of `ruleId`. */
async function openIncidents(ruleId: string): Promise<Incident[]> {
  const result = await evaluate(t.db);
  assert.equal(result.skipped, undefined);
  return (await incidents(t.db, ruleId)).filter((i) => i.status === 'open');
}

/** Moves a job's clock back: `column` becomes now() minus `seconds`. */
async function backdate(jobId: string, column: 'run_at' | 'attempted_at' | 'lease_expires_at', seconds: number) {
  await t.db.query(`update public.jobs set ${column} = now() - make_interval(secs => $2) where id = $1`, [jobId, seconds]);
}

describe('failure rate', () => {
  ruleTest('failure_rate fires above 10% of at least 20 finished jobs, all models together', async () => {
    await addJobMinute(t.db, { minutesAgo: 2, model: FLASH, succeeded: 60, failed: 6 });
    await addJobMinute(t.db, { minutesAgo: 1, model: PRO, succeeded: 30, failed: 4 });
    assert.deepEqual(await openIncidents('failure_rate'), [], '10 of 100 is 10%: not above');
    await addJobMinute(t.db, { minutesAgo: 1, model: PRO, succeeded: 30, failed: 5 });
    const [incident] = await openIncidents('failure_rate');
    assert.equal(incident?.subject, '');
    assert.equal(Number(incident?.value), 10.89);
    assert.match(incident!.summary, /^10\.89% of 101 finished jobs failed in the last 5 min \(threshold 10%\)$/);
    assert.equal(incident!.title, 'Job failure rate');
  });

  ruleTest('failure_rate stays quiet under its minimum number of finished jobs, and counts only its window', async () => {
    await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 10, failed: 9 });
    assert.deepEqual(await openIncidents('failure_rate'), [], '19 finished jobs: under the minimum of 20');
    // Failures older than the 5-minute window do not count.
    await addJobMinute(t.db, { minutesAgo: 7, model: FLASH, failed: 50 });
    assert.deepEqual(await openIncidents('failure_rate'), []);
    await addJobMinute(t.db, { minutesAgo: 2, model: FLASH, succeeded: 1 });
    assert.equal((await openIncidents('failure_rate')).length, 1, '9 of 20 failed');
  });

  ruleTest('model_failure_rate fires for the model over 10%, not for the one under it', async () => {
    await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 90, failed: 10 });
    await addJobMinute(t.db, { minutesAgo: 1, model: PRO, succeeded: 18, failed: 2 });
    assert.deepEqual(await openIncidents('model_failure_rate'), []);
    await addJobMinute(t.db, { minutesAgo: 1, model: PRO, succeeded: 18, failed: 3 });
    const open = await openIncidents('model_failure_rate');
    assert.deepEqual(open.map((i) => i.subject), [PRO]);
    assert.equal(open[0]!.title, `Job failure rate of a model: ${PRO}`);
    assert.equal(open[0]!.detail.model_id, PRO);
  });
});

describe('queue', () => {
  ruleTest('queue_stalled fires when the oldest runnable job has waited over 5 minutes, not while its model is paused', async () => {
    const job = await createJob(t.db);
    await backdate(job.id, 'run_at', 290);
    assert.deepEqual(await openIncidents('queue_stalled'), [], '4 min 50 s');
    await backdate(job.id, 'run_at', 310);
    const [incident] = await openIncidents('queue_stalled');
    assert.deepEqual(incident?.detail, { model_id: FLASH, job_ids: [job.id] });
    assert.match(incident!.summary, /^the oldest runnable job of gemini-2\.5-flash-image has waited 5\.2 min \(threshold 5 min\)$/);

    // A paused model's queue is meant to wait: nothing else is waiting, so the condition clears.
    await t.db.query('update public.models set paused = true where id = $1', [FLASH]);
    await openIncidents('queue_stalled');
    const [after] = await incidents(t.db, 'queue_stalled');
    assert.ok(after!.clear_since, 'cleared once the only waiting job is on a paused model');
  });

  ruleTest('no_worker fires when runnable jobs wait over 2 minutes with nothing running or claimed', async () => {
    const job = await createJob(t.db);
    await backdate(job.id, 'run_at', 110);
    assert.deepEqual(await openIncidents('no_worker'), [], '1 min 50 s');
    await backdate(job.id, 'run_at', 130);
    const [incident] = await openIncidents('no_worker');
    assert.deepEqual(incident?.detail, { job_ids: [job.id], model_ids: [FLASH] });
  });

  ruleTest('no_worker stays quiet while a job runs, however long others wait', async () => {
    await createJob(t.db, 'alice', PRO);
    assert.equal((await claim(t.db)).length, 1);
    const waiting = await createJob(t.db);
    await backdate(waiting.id, 'run_at', 600);
    assert.deepEqual(await openIncidents('no_worker'), []);
  });
});

describe('workers', () => {
  ruleTest('jobs_stuck fires for a job running over 5 minutes', async () => {
    const job = await createJob(t.db);
    await claim(t.db, 1, 'worker-1', 600);
    await backdate(job.id, 'attempted_at', 290);
    assert.deepEqual(await openIncidents('jobs_stuck'), []);
    await backdate(job.id, 'attempted_at', 310);
    const [incident] = await openIncidents('jobs_stuck');
    assert.equal(Number(incident?.value), 1);
    assert.deepEqual(incident!.detail.job_ids, [job.id]);
    assert.equal(incident!.detail.lease_expired, 0, 'still heartbeating: the lease is valid');
  });

  ruleTest('jobs_rescued fires when the reaper rescued more than 2 jobs in 15 minutes', async () => {
    const rescue = async () => {
      const job = await createJob(t.db);
      await claim(t.db, 1, 'worker-that-dies', 30);
      await backdate(job.id, 'lease_expires_at', 5);
      await query(t.db, 'service', 'select public.reap_expired_jobs()');
      return job.id;
    };
    // The reaper requeues them; keep them out of later claims.
    const ids = [await rescue()];
    await query(t.db, 'admin', `select * from public.cancel_jobs($1::uuid[], 'test')`, [ids]);
    ids.push(await rescue());
    await query(t.db, 'admin', `select * from public.cancel_jobs($1::uuid[], 'test')`, [[ids[1]]]);
    assert.deepEqual(await openIncidents('jobs_rescued'), [], '2 jobs');
    ids.push(await rescue());
    const [incident] = await openIncidents('jobs_rescued');
    assert.equal(Number(incident?.value), 3);
    assert.deepEqual(new Set(incident!.detail.job_ids as string[]), new Set(ids));
    assert.equal(incident!.severity, 'warning');
  });
});

describe('provider', () => {
  ruleTest('circuit_open fires when a model has failed for over a minute with no success since', async () => {
    const fail = (secondsAgo: number) =>
      query(t.db, 'service', `select public.record_provider_call($1, now() - make_interval(secs => $2), 1000, 'server_error', 503)`, [
        FLASH,
        secondsAgo,
      ]);
    for (let i = 0; i < 5; i++) await fail(50);
    const { rows } = await t.db.query('select circuit_state from public.model_health where model_id = $1', [FLASH]);
    assert.equal(rows[0].circuit_state, 'open');
    assert.deepEqual(await openIncidents('circuit_open'), [], 'failing for 50 s');
    await fail(70);
    const open = await openIncidents('circuit_open');
    assert.deepEqual(open.map((i) => i.subject), [FLASH]);
    assert.match(open[0]!.summary, /^circuit open for 1\.2 min \(threshold 1 min\)$/);

    // A success closes the circuit, and the condition is clear at the next evaluation.
    await query(t.db, 'service', `select public.record_provider_call($1, now(), 1000, 'ok', 200)`, [FLASH]);
    await openIncidents('circuit_open');
    assert.ok((await incidents(t.db, 'circuit_open'))[0]!.clear_since);
  });

  ruleTest('rate_limited_share fires above 20% of at least 20 calls answered 429', async () => {
    await addCallMinute(t.db, { minutesAgo: 1, model: FLASH, calls: 100, ok: 80, rateLimited: 20 });
    await addCallMinute(t.db, { minutesAgo: 1, model: PRO, calls: 10, ok: 1, rateLimited: 9 });
    assert.deepEqual(await openIncidents('rate_limited_share'), [], 'exactly 20%; and 90% of only 10 calls');
    await addCallMinute(t.db, { minutesAgo: 2, model: FLASH, calls: 1, ok: 0, rateLimited: 1 });
    const open = await openIncidents('rate_limited_share');
    assert.deepEqual(open.map((i) => i.subject), [FLASH]);
    assert.equal(Number(open[0]!.value), 20.79);
  });

  ruleTest('latency_p95 fires when a model\'s p95 passes 60 s over at least 10 calls', async () => {
    // p95 inside bin 36, (49.3 s, 61.6 s], interpolated: 65 fast calls and 35 slow ones put it
    // at 59.9 s; 60 and 40 at 60.1 s.
    const hist = (fast: number, slow: number) => [fast, ...Array<number>(34).fill(0), slow, 0, 0, 0, 0];
    await addCallMinute(t.db, { minutesAgo: 3, model: FLASH, calls: 100, latencyHist: hist(65, 35) });
    assert.deepEqual(await openIncidents('latency_p95'), []);
    await addCallMinute(t.db, { minutesAgo: 3, model: FLASH, calls: 100, latencyHist: hist(60, 40) });
    const open = await openIncidents('latency_p95');
    assert.deepEqual(open.map((i) => i.subject), [FLASH]);
    assert.match(open[0]!.summary, /^p95 60\.1 s over 100 calls in the last 10 min \(threshold 60 s\)$/);
  });

  ruleTest('latency_p95 stays quiet under 10 calls however slow', async () => {
    await addCallMinute(t.db, { minutesAgo: 1, model: PRO, calls: 9, latencyHist: [...Array<number>(39).fill(0), 9] });
    assert.deepEqual(await openIncidents('latency_p95'), []);
  });
});

describe('cost', () => {
  ruleTest('spend_per_hour fires when the last 60 minutes cost more than $50', async () => {
    await addCallMinute(t.db, { minutesAgo: 50, model: FLASH, calls: 100, costUsd: 30 });
    await addCallMinute(t.db, { minutesAgo: 10, model: PRO, calls: 100, costUsd: 20 });
    assert.deepEqual(await openIncidents('spend_per_hour'), [], 'exactly $50');
    await addCallMinute(t.db, { minutesAgo: 10, model: PRO, calls: 100, costUsd: 20.01 });
    const [incident] = await openIncidents('spend_per_hour');
    assert.match(incident!.summary, /^\$50\.01 spent on Gemini calls in the last 60 min \(threshold \$50\.00\)$/);
    assert.deepEqual(incident!.detail.by_model, { [FLASH]: 30, [PRO]: 20.01 });
  });

  ruleTest('calls_per_job fires when billed calls per succeeded job pass 1.5 (a job run twice)', async () => {
    await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 20 });
    await addCallMinute(t.db, { minutesAgo: 1, model: FLASH, calls: 40, ok: 30 });
    assert.deepEqual(await openIncidents('calls_per_job'), [], '1.5 billed calls per job; failed calls are not billed');
    await addCallMinute(t.db, { minutesAgo: 2, model: FLASH, calls: 1, ok: 1 });
    const [incident] = await openIncidents('calls_per_job');
    assert.equal(Number(incident?.value), 1.55);
  });
});

test('every rule in the catalog has a test above, and every rule tested is in the catalog', async () => {
  const { rows } = await t.db.query<{ id: string }>('select id from public.alert_rules order by id');
  assert.deepEqual([...tested].sort(), rows.map((r) => r.id));
});
