import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createJobWorker, type JobWorker } from '../../functions/job-worker/job-worker.ts';
import { FLASH, PRO, startWorkerFixture, type WorkerFixture } from './worker-fixture.ts';
import { as } from '../../../testkit/database/fixtures.ts';

// "Verify now" and enabling a model again mark it unverified (request_model_verification,
// enable_model); the worker's next invocation checks exactly those models with the provider.
let f: WorkerFixture;
let worker: JobWorker;
before(async () => {
  f = await startWorkerFixture();
  worker = createJobWorker({ ...f.deps, workerId: 'verify-requested' });
  await worker.invoke();
  await worker.verification();
  await worker.requestedVerification();
});
after(async () => {
  await worker?.shutdown();
  await f?.stop();
});

async function asAdmin(sql: string, params: unknown[]) {
  await as(f.db, 'admin', (c) => c.query(sql, params));
}

async function states(): Promise<Record<string, { enabled: boolean; verification_state: string }>> {
  const { rows } = await f.db.query('select id, enabled, verification_state from public.models');
  return Object.fromEntries(rows.map((r) => [r.id, { enabled: r.enabled, verification_state: r.verification_state }]));
}

describe('requested verification', () => {
  test('the next invocation verifies the model an admin asked about, and only that one', async () => {
    await asAdmin(`select public.request_model_verification($1, 'provider renamed models')`, [FLASH]);
    assert.equal((await states())[FLASH]!.verification_state, 'unverified');
    const before = f.standIn.stats();
    await worker.invoke();
    const report = await worker.requestedVerification();
    assert.deepEqual(report, { verified: [FLASH], disabled: [], unchecked: [] });
    assert.equal((await states())[FLASH]!.verification_state, 'verified');
    assert.equal((await states())[PRO]!.verification_state, 'verified');
    assert.equal(f.standIn.stats().generateContent, before.generateContent, 'verification calls models.get only');
  });

  test('a model enabled again that the provider does not know is disabled again', async () => {
    await f.db.query(
      `insert into public.models (id, display_name, credits_per_job, enabled) values ('gemini-2.5-flash-imagen', 'Typo', 1, false)`,
    );
    await asAdmin(`select public.enable_model($1, 'try it again')`, ['gemini-2.5-flash-imagen']);
    await worker.invoke();
    const report = await worker.requestedVerification();
    assert.deepEqual(report?.disabled, ['gemini-2.5-flash-imagen']);
    assert.deepEqual((await states())['gemini-2.5-flash-imagen'], { enabled: false, verification_state: 'failed' });
  });

  test('with nothing requested an invocation checks nothing', async () => {
    await worker.invoke();
    assert.deepEqual(await worker.requestedVerification(), { verified: [], disabled: [], unchecked: [] });
  });
});
