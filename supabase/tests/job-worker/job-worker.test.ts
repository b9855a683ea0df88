import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createJobWorker } from '../../functions/job-worker/job-worker.ts';
import type { WorkerConfig } from '../../functions/job-worker/config.ts';
import type { AttemptReport } from '../../functions/job-worker/run-attempt.ts';
import { callRows, FLASH, jobRow, ledger, PRO, startWorkerFixture, type WorkerFixture } from './worker-fixture.ts';
import { until } from '../../../testkit/wait.ts';
import { as } from '../../../testkit/database/fixtures.ts';

// The process-level worker: cold-start verification, claiming sized to free slots and refilled
// as they free, the wall-clock window, and giving jobs back on shutdown.
let f: WorkerFixture;
before(async () => {
  f = await startWorkerFixture();
});
after(async () => {
  await f?.stop();
});
afterEach(async () => {
  await fetch(`${f.standIn.url}/__admin/faults`, { method: 'DELETE' });
  // Leave nothing claimable behind for the next test: fail-and-refund leftovers as the admin would.
  await as(f.db, 'admin', (c) =>
    c.query(`select public.fail_and_refund_jobs(ids, 'test cleanup')
               from (select array_agg(id) as ids from public.jobs where status in ('queued', 'running')) s
              where ids is not null`),
  );
});

describe('cold start', () => {
  test('verifies every enabled model; an unknown one is disabled and its queued jobs refunded before any claim', async () => {
    await f.db.query(
      `insert into public.models (id, display_name, credits_per_job, price_usd_per_call) values ('gemini-2.5-flash-imagen', 'Typo', 2, 0.05)`,
    );
    const doomed = await f.enqueue('bob', 'gemini-2.5-flash-imagen');
    const worker = createJobWorker({ ...f.deps, workerId: 'cold-start' });
    const reply = await worker.invoke();
    assert.equal(reply.claimed, 0, 'the only queued job was for the unknown model');
    const report = await worker.verification();
    assert.deepEqual(report?.disabled, ['gemini-2.5-flash-imagen']);
    assert.ok(report?.verified.includes(FLASH) && report.verified.includes(PRO));
    const { rows } = await f.db.query(`select id, enabled, verification_state from public.models order by id`);
    assert.deepEqual(
      rows.filter((r) => [FLASH, PRO, 'gemini-2.5-flash-imagen'].includes(r.id)),
      [
        { id: FLASH, enabled: true, verification_state: 'verified' },
        { id: 'gemini-2.5-flash-imagen', enabled: false, verification_state: 'failed' },
        { id: PRO, enabled: true, verification_state: 'verified' },
      ],
    );
    const row = await jobRow(f.db, doomed.id);
    assert.equal(row.status, 'failed');
    assert.equal(row.error_class, 'model_disabled');
    assert.deepEqual(await ledger(f.db, doomed.id), [['job_charge', -2], ['job_refund', 2]]);
    assert.equal(f.standIn.stats().generateContent, 0, 'not one generateContent call was spent on it');
  });
});

/**
 * `count` of alice's jobs and a worker with `config` over them, its peak of jobs in flight
 * tracked; `finish` waits until it is idle, checks that every job succeeded and returns the peak.
 */
async function trackedWorker(count: number, workerId: string, config: Partial<WorkerConfig>, onAttempt?: (r: AttemptReport) => void) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await f.enqueue('alice')).id);
  const worker = createJobWorker({ ...f.deps, workerId, verifyAtStart: false, config: { ...f.config, ...config }, onAttempt });
  let peak = 0;
  const track = setInterval(() => (peak = Math.max(peak, worker.inFlight)), 5);
  const finish = async () => {
    await worker.idle();
    clearInterval(track);
    for (const id of ids) assert.equal((await jobRow(f.db, id)).status, 'succeeded');
    return peak;
  };
  return { ids, worker, finish };
}

describe('claiming', () => {
  test('claims only free slots and refills them as jobs finish, until the queue is empty', async () => {
    f.standIn.setLatency({ p50: 80, p99: 120 });
    const reports: AttemptReport[] = [];
    const { worker, finish } = await trackedWorker(7, 'slots', { concurrency: 3 }, (r) => reports.push(r));
    assert.equal((await worker.invoke()).claimed, 3);
    const peak = await finish();
    assert.equal(reports.length, 7);
    assert.ok(reports.every((r) => r.outcome === 'succeeded'));
    assert.ok(peak <= 3, `peak in flight ${peak}`);
  });

  test('claims only the jobs whose answers fit the answer budget, learnt from the answers; the rest stay queued', async () => {
    f.standIn.setLatency({ p50: 150, p99: 200 });
    // Before any answer a job weighs a 2 MB 1K estimate (x4): 20 MB holds two. The stand-in's 1K
    // answers are about 0.7 MB (x4, 2.8 MB each): once one has arrived, seven fit, so the slots
    // (4) decide again.
    const { ids, worker, finish } = await trackedWorker(6, 'answer-budget', { concurrency: 4, answerBudgetMb: 20 });
    assert.equal((await worker.invoke()).claimed, 2, 'two estimated 1K answers fit 20 MB, the slots would take four');
    const { rows } = await f.db.query<{ queued: number }>(`select count(*)::int as queued from public.jobs where id = any($1) and status = 'queued'`, [ids]);
    assert.equal(rows[0]!.queued, 4, 'what did not fit was left unclaimed');
    assert.equal(await finish(), 4, 'after the first answers the process held as many as its slots');
  });

  test('a process whose answers are larger than the whole budget still runs one job at a time', async () => {
    f.standIn.setLatency({ p50: 50, p99: 80 });
    const { worker, finish } = await trackedWorker(3, 'tiny-budget', { concurrency: 4, answerBudgetMb: 1 });
    assert.equal((await worker.invoke()).claimed, 1);
    assert.equal(await finish(), 1);
  });

  test('no claims once the wall-clock budget leaves no room for a whole attempt', async () => {
    await f.enqueue('alice');
    const worker = createJobWorker({
      ...f.deps,
      workerId: 'late',
      verifyAtStart: false,
      config: { ...f.config, wallClockBudgetMs: f.config.attemptBudgetMs },
    });
    assert.deepEqual(await worker.invoke(), { worker_id: 'late', claimed: 0, in_flight: 0 });
  });
});

describe('completing', () => {
  // now() is the transaction's start: completions written by one complete_jobs call share their
  // finished_at, completions of separate calls do not.
  const finishedAt = async (ids: string[]) =>
    (await f.db.query<{ id: string; status: string; at: Date | null }>(`select id, status, finished_at as at from public.jobs where id = any($1)`, [ids])).rows;

  test('completions that land in the same tick go in one call, each fenced by its own lease', async () => {
    const ids = [(await f.enqueue('alice')).id, (await f.enqueue('bob')).id, (await f.enqueue('alice')).id];
    const held = await Promise.all(ids.map((id) => f.claim(id)));
    const stale = { ...held[2]!, lease_token: '00000000-0000-4000-8000-000000000000' };
    const result = (job: { id: string; user_id: string }) => ({ bucket: 'results', path: `${job.user_id}/${job.id}.png`, mimeType: 'image/png', width: 8, height: 8, bytes: 90 });
    const replies = await Promise.all([
      f.pipeline.completeJob(held[0]!, result(held[0]!)),
      f.pipeline.completeJob(held[1]!, result(held[1]!)),
      f.pipeline.completeJob(stale, result(stale)),
    ]);
    assert.deepEqual(replies, [
      { outcome: 'succeeded', status: 'succeeded' },
      { outcome: 'succeeded', status: 'succeeded' },
      { outcome: 'fenced', status: 'running' },
    ]);
    const rows = await finishedAt(ids.slice(0, 2));
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.at!.getTime(), rows[1]!.at!.getTime(), 'one statement completed both');
    assert.equal((await jobRow(f.db, ids[2]!)).status, 'running', 'the stale lease changed nothing');
    // A lone completion later is a call of its own.
    assert.deepEqual(await f.pipeline.completeJob(held[2]!, result(held[2]!)), { outcome: 'succeeded', status: 'succeeded' });
    const [lone] = await finishedAt([ids[2]!]);
    assert.notEqual(lone!.at!.getTime(), rows[0]!.at!.getTime());
  });
});

describe('shutdown', () => {
  test('gives back every held job at once, attempt not counted, and writes nothing else', async () => {
    f.standIn.force({ outcome: 'hang', count: 2 });
    const a = await f.enqueue('alice');
    const b = await f.enqueue('alice');
    const worker = createJobWorker({
      ...f.deps,
      workerId: 'leaving',
      verifyAtStart: false,
      config: { ...f.config, callTimeoutMs: 5_000 },
    });
    assert.equal((await worker.invoke()).claimed, 2);
    await until(() => f.standIn.stats().hanging === 2);
    assert.deepEqual(await worker.shutdown(), { released: 2 });
    await worker.idle();
    for (const { id } of [a, b]) {
      const row = await jobRow(f.db, id);
      assert.equal(row.status, 'queued');
      assert.equal(row.attempt, 0, 'the interrupted attempt is not counted');
      assert.equal(row.stage, 'released');
      assert.ok(row.run_at.getTime() <= Date.now(), 'runnable at once');
      assert.deepEqual(await callRows(f.db, id), []);
      assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]]);
    }
    const { rows } = await f.db.query(
      `select to_status, actor_role, detail ->> 'reason' as reason from public.job_events where job_id = $1 order by id`,
      [a.id],
    );
    assert.deepEqual(rows.map((r) => r.to_status), ['queued', 'running', 'queued']);
    assert.deepEqual(rows.at(-1), { to_status: 'queued', actor_role: 'worker', reason: 'worker shutting down' });
    assert.equal((await worker.invoke()).claimed, 0, 'a stopping worker claims nothing');
  });
});
