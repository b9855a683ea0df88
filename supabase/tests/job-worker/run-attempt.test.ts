import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { signedInClient } from '../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../testkit/demo-users.ts';
import { createResultStore } from '../../functions/job-worker/result-store.ts';
import type { WorkerConfig } from '../../functions/job-worker/config.ts';
import { runAttempt, type AttemptReport } from '../../functions/job-worker/run-attempt.ts';
import { callRows, FLASH, jobRow, ledger, PRO, startWorkerFixture, unbalancedAccounts, type WorkerFixture } from './worker-fixture.ts';
import { until } from '../../../testkit/wait.ts';

// Each fault class through the real @google/genai SDK against the Gemini stand-in, and the real
// pipeline through supabase-js: the job's final state, its ledger entries and its call rows.
let f: WorkerFixture;
before(async () => {
  f = await startWorkerFixture();
});
after(async () => {
  await f?.stop();
});
afterEach(async () => {
  f.standIn.setFaults({});
  await fetch(`${f.standIn.url}/__admin/faults`, { method: 'POST', body: JSON.stringify({ clearForced: true }) });
  // Faults below open circuits and set Retry-After; each test starts from a healthy provider.
  await f.db.query(
    `update public.model_health set circuit_state = 'closed', consecutive_failures = 0, opened_at = null,
            half_open_at = null, retry_after_until = null`,
  );
});

/**
 * Enqueues as alice, claims, runs one attempt (with `config` over the fixture's); also checks the
 * attempt ended inside the job's deadline.
 */
async function attempt(model = FLASH, options: Record<string, unknown> = {}, config: Partial<WorkerConfig> = {}) {
  const { id } = await f.enqueue('alice', model, options);
  const job = await f.claim(id);
  const report = await runAttempt({ ...f.deps, config: { ...f.config, ...config } }, job, { stop: new AbortController().signal });
  const row = await jobRow(f.db, id);
  if (row.finished_at) assert.ok(row.finished_at < row.deadline_at, 'finished inside the deadline');
  return { id, job, report, row };
}

const force = (outcome: string, count = 1, model?: string) => f.standIn.force({ outcome: outcome as never, count, model });

describe('a successful call', () => {
  test('stores the PNG at <user>/<job>.png, completes the job, records the call with tokens and cost', async () => {
    const { id, report, row } = await attempt(FLASH, { aspect_ratio: '16:9' });
    assert.equal(report.outcome, 'succeeded');
    assert.equal(row.status, 'succeeded');
    assert.equal(row.stage, 'done');
    const alice = DEMO_USERS.alice.id;
    assert.deepEqual(row.result, {
      bucket: 'results', path: `${alice}/${id}.png`, mimeType: 'image/png', width: 1344, height: 768, bytes: row.result!.bytes,
    });
    assert.ok((row.result!.bytes as number) > 100);
    const calls = await callRows(f.db, id);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.outcome, 'ok');
    assert.equal(calls[0]!.http_status, 200);
    assert.equal(calls[0]!.worker_id, 'test-worker');
    assert.equal(calls[0]!.attempt, 1);
    assert.ok(calls[0]!.input_tokens! > 0);
    assert.ok(calls[0]!.output_tokens! >= 1290, 'an image is 1290 output tokens on this model');
    assert.equal(Number(calls[0]!.cost_usd), 0.039, "the model's price per call");
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]], 'charged, not refunded');
  });

  test('the owner can read the result; another user cannot', async () => {
    const { id } = await attempt();
    const path = `${DEMO_USERS.alice.id}/${id}.png`;
    const { client: alice } = await signedInClient(f.stack, 'alice');
    const mine = await alice.storage.from('results').download(path);
    assert.equal(mine.error, null);
    const bytes = new Uint8Array(await mine.data!.arrayBuffer());
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
    const { client: bob } = await signedInClient(f.stack, 'bob');
    const theirs = await bob.storage.from('results').download(path);
    assert.ok(theirs.error, "bob may not read alice's image");
    assert.equal(theirs.data, null);
  });

  test('number_of_images makes one call and one object per image', async () => {
    const { id, row } = await attempt(FLASH, { number_of_images: 2 });
    assert.equal(row.status, 'succeeded');
    const images = row.result!.images as Array<{ path: string }>;
    assert.deepEqual(images.map((i) => i.path), [`${DEMO_USERS.alice.id}/${id}.png`, `${DEMO_USERS.alice.id}/${id}-2.png`]);
    assert.deepEqual((await callRows(f.db, id)).map((c) => c.outcome), ['ok', 'ok']);
  });
});

describe('no thumbnail in the worker', () => {
  test('the job stores its image only: no thumbnail object, no thumbnail in the result (the app makes it when viewed)', async () => {
    const { id, row } = await attempt(FLASH, { aspect_ratio: '16:9' });
    assert.equal(row.status, 'succeeded');
    assert.deepEqual(Object.keys(row.result!).filter((k) => k.startsWith('thumbnail')), []);
    const listed = await f.service.storage.from('results').list(DEMO_USERS.alice.id, { search: id });
    assert.deepEqual(listed.data!.map((o) => o.name), [`${id}.png`], 'the image alone');
  });
});

describe('the stored name carries the image type', () => {
  // Gemini answers PNG or JPEG; a JPEG stored as .png downloads as a file the user's system
  // misreads. The type is read from the bytes, so a mislabelled answer is stored as what it is.
  const jpegBytes = async () => new Uint8Array(await sharp({ create: { width: 32, height: 24, channels: 3, background: '#808080' } }).jpeg({ quality: 80 }).toBuffer());
  for (const declared of ['image/jpeg', 'image/png']) {
    test(`JPEG bytes declared ${declared}: stored at <user>/<job>.jpg as image/jpeg`, async () => {
      const results = createResultStore(f.service, f.config.resultsBucket);
      const { id } = await f.enqueue('alice');
      const job = await f.claim(id);
      const image = await jpegBytes();
      const result = await results.storeImages(job, [{ data: image, mimeType: declared }]);
      assert.equal(result.path, `${DEMO_USERS.alice.id}/${id}.jpg`);
      assert.equal(result.mimeType, 'image/jpeg');
      const { data, error } = await f.service.storage.from('results').download(result.path);
      assert.equal(error, null);
      assert.equal(data!.type, 'image/jpeg');
      assert.deepEqual(new Uint8Array(await data!.arrayBuffer()), image);
    });
  }
});

describe('retryable faults inside one attempt', () => {
  test('429: waits at least the RetryInfo delay, then succeeds; the Retry-After reaches model_health', async () => {
    f.standIn.setFaults({ retryAfterSeconds: 1 });
    force('rate429');
    const { id, row } = await attempt();
    assert.equal(row.status, 'succeeded');
    const calls = await callRows(f.db, id);
    assert.deepEqual(calls.map((c) => [c.outcome, c.http_status, c.retry_after_ms]), [['rate_limited', 429, 1000], ['ok', 200, null]]);
    const gap = calls[1]!.started_at.getTime() - calls[0]!.started_at.getTime();
    assert.ok(gap >= 1000, `the retry came ${gap} ms after the 429`);
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]]);
  });

  test('500 then 503 then an image: three calls, one attempt, succeeded', async () => {
    force('error500');
    force('error503');
    const { id, row, report } = await attempt();
    assert.equal(row.status, 'succeeded');
    assert.equal(report.calls, 3);
    assert.deepEqual((await callRows(f.db, id)).map((c) => [c.outcome, c.http_status]), [['server_error', 500], ['server_error', 503], ['ok', 200]]);
  });

  test('a hung call is cut at the call timeout, recorded as timeout, and retried', async () => {
    force('hang');
    // Short enough to keep the test quick; the answer after it has as long (the stand-in answers
    // at once), and the attempt's budget is ten times that.
    const callTimeoutMs = 2_000;
    const { id, row } = await attempt(FLASH, {}, { callTimeoutMs });
    assert.equal(row.status, 'succeeded');
    const calls = await callRows(f.db, id);
    assert.deepEqual(calls.map((c) => c.outcome), ['timeout', 'ok']);
    // Cut by the call's own timeout, not by the end of the attempt.
    assert.ok(calls[0]!.duration_ms >= callTimeoutMs - 50 && calls[0]!.duration_ms < f.config.attemptBudgetMs, `timeout after ${calls[0]!.duration_ms} ms`);
    assert.equal(calls[0]!.http_status, null);
  });

  test('an answer without an image, and a body cut short, are retried', async () => {
    force('noImage');
    force('malformed');
    const { id, row } = await attempt();
    assert.equal(row.status, 'succeeded');
    assert.deepEqual((await callRows(f.db, id)).map((c) => c.outcome), ['ok', 'network_error', 'ok']);
  });
});

describe('ending the attempt', () => {
  test('429 asking for longer than the attempt has: retry scheduled no sooner than asked, nobody claims the model meanwhile', async () => {
    f.standIn.setFaults({ retryAfterSeconds: 30 });
    force('rate429');
    const before = Date.now();
    const { id, row, report } = await attempt();
    assert.equal(report.outcome, 'retry_scheduled');
    assert.equal(row.status, 'queued');
    assert.equal(row.error_class, 'rate_limited');
    assert.ok(row.run_at.getTime() >= before + 29_000, 'run_at honours the 30 s retry delay');
    assert.deepEqual((await callRows(f.db, id)).map((c) => [c.outcome, c.retry_after_ms]), [['rate_limited', 30000]]);
    // The Retry-After is shared through Postgres: another worker claims nothing for this model.
    const other = await f.enqueue('alice');
    await f.db.query('update public.jobs set priority = 100 where id = $1', [other.id]);
    assert.deepEqual(await f.pipeline.claimJobs('other-worker', 5, 5), []);
    assert.deepEqual(await f.pipeline.acquireModelBudget(FLASH).then((b) => b.granted), false);
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]], 'no refund while attempts remain');
  });

  test('5xx on every call of the last attempt: failed and refunded exactly once', async () => {
    const { id } = await f.enqueue('alice');
    await f.db.query('update public.jobs set max_attempts = 1 where id = $1', [id]);
    const job = await f.claim(id);
    force('error500', 3);
    const report = await runAttempt(f.deps, job, { stop: new AbortController().signal });
    assert.equal(report.outcome, 'failed');
    const row = await jobRow(f.db, id);
    assert.equal(row.status, 'failed');
    assert.equal(row.error_class, 'server_error');
    assert.deepEqual((await callRows(f.db, id)).map((c) => c.outcome), ['server_error', 'server_error', 'server_error']);
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1], ['job_refund', 1]]);
    assert.equal(await unbalancedAccounts(f.db), 0);
  });

  test('400 invalid argument (an image job on a text-only model): permanent, refunded, no retry', async () => {
    await f.db.query(
      `insert into public.models (id, display_name, credits_per_job, price_usd_per_call) values ('gemini-2.5-flash', 'Text only', 2, 0.01)
       on conflict (id) do nothing`,
    );
    const { id, row, report } = await attempt('gemini-2.5-flash');
    assert.equal(report.outcome, 'failed');
    assert.equal(row.status, 'failed');
    assert.equal(row.error_class, 'invalid_argument');
    assert.equal(row.attempt, 1, 'failed on the first of three attempts');
    assert.deepEqual((await callRows(f.db, id)).map((c) => [c.outcome, c.http_status, Number(c.cost_usd)]), [['client_error', 400, 0]]);
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -2], ['job_refund', 2]]);
  });

  for (const fault of ['blocked', 'imageSafety'] as const) {
    test(`${fault}: safety_blocked, permanent, refunded`, async () => {
      force(fault);
      const { id, row } = await attempt();
      assert.equal(row.status, 'failed');
      assert.equal(row.error_class, 'safety_blocked');
      assert.deepEqual((await callRows(f.db, id)).map((c) => c.outcome), ['safety_blocked']);
      assert.deepEqual(await ledger(f.db, id), [['job_charge', -1], ['job_refund', 1]]);
    });
  }

  test('404 unknown model: the model is disabled, its queued jobs fail with refunds, this job too', async () => {
    await f.db.query(
      `insert into public.models (id, display_name, credits_per_job, price_usd_per_call) values ('gemini-9-imaginary', 'Misspelt', 3, 0.05)`,
    );
    const waiting = [await f.enqueue('bob', 'gemini-9-imaginary'), await f.enqueue('bob', 'gemini-9-imaginary')];
    const { id, row, report } = await attempt('gemini-9-imaginary');
    assert.equal(report.outcome, 'failed');
    assert.equal(row.status, 'failed');
    assert.equal(row.error_class, 'model_not_found');
    assert.deepEqual((await callRows(f.db, id)).map((c) => [c.outcome, c.http_status]), [['not_found', 404]]);
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -3], ['job_refund', 3]]);
    const { rows: [model] } = await f.db.query(`select enabled, verification_state from public.models where id = 'gemini-9-imaginary'`);
    assert.deepEqual(model, { enabled: false, verification_state: 'failed' });
    for (const w of waiting) {
      const sibling = await jobRow(f.db, w.id);
      assert.equal(sibling.status, 'failed');
      assert.equal(sibling.error_class, 'model_disabled');
      assert.deepEqual(await ledger(f.db, w.id), [['job_charge', -3], ['job_refund', 3]]);
    }
    assert.equal(await unbalancedAccounts(f.db), 0);
  });

  test('a burst of 5xx opens the circuit: the attempt stops, job_health shows it open, claims skip the model', async () => {
    force('error503', 3, PRO);
    const first = await attempt(PRO);
    assert.equal(first.report.outcome, 'retry_scheduled');
    force('error503', 3, PRO);
    const second = await attempt(PRO);
    assert.equal(second.report.outcome, 'retry_scheduled');
    assert.equal(second.report.calls, 2, 'the fifth failure in a row opened the circuit; no third call');
    const { rows: [health] } = await f.db.query(`select public.job_health() as h`);
    const pro = (health.h.models as Array<Record<string, unknown>>).find((m) => m.model_id === PRO)!;
    assert.equal(pro.circuit_state, 'open');
    assert.equal(pro.consecutive_failures, 5);
    const waiting = await f.enqueue('alice', PRO);
    await f.db.query('update public.jobs set priority = 100 where id = $1', [waiting.id]);
    const claimed = await f.pipeline.claimJobs('other-worker', 5, 5);
    assert.ok(!claimed.some((j) => j.model_id === PRO), 'no job of an open-circuit model is claimed');
    for (const j of claimed) await f.pipeline.releaseJobs([j], 0, 'test');
  });
});

describe('after the circuit opened', () => {
  test('the cool-down over, one probe job is claimed; its success closes the circuit', async () => {
    await f.db.query(
      `update public.model_health set circuit_state = 'open', consecutive_failures = 5, opened_at = now() - interval '31 seconds'
        where model_id = $1`,
      [PRO],
    );
    const probe = await f.enqueue('alice', PRO);
    const second = await f.enqueue('alice', PRO);
    await f.db.query(`update public.jobs set priority = case when id = $1 then 100 when id = $2 then 99 else 0 end where status = 'queued'`, [
      probe.id,
      second.id,
    ]);
    const all = await f.pipeline.claimJobs('prober', 5, 5);
    // Earlier tests may have left jobs of the other model queued; only PRO is under test.
    await f.pipeline.releaseJobs(all.filter((j) => j.model_id !== PRO), 0, 'test');
    const claimed = all.filter((j) => j.model_id === PRO);
    assert.deepEqual(claimed.map((j) => j.id), [probe.id], 'half-open lets exactly one probe through');
    const { rows: [half] } = await f.db.query(`select circuit_state from public.model_health where model_id = $1`, [PRO]);
    assert.equal(half.circuit_state, 'half_open');
    const report = await runAttempt(f.deps, claimed[0]!, { stop: new AbortController().signal });
    assert.equal(report.outcome, 'succeeded');
    const { rows: [closed] } = await f.db.query(`select circuit_state, consecutive_failures from public.model_health where model_id = $1`, [PRO]);
    assert.deepEqual(closed, { circuit_state: 'closed', consecutive_failures: 0 });
    const next = await f.claim(second.id);
    await f.pipeline.releaseJobs([next], 0, 'test');
  });
});

describe('losing the job', () => {
  test('fenced mid-call (the reaper took the expired lease): the call is dropped, nothing is written', async () => {
    force('hang');
    const { id } = await f.enqueue('alice');
    const job = await f.claim(id);
    const running = runAttempt({ ...f.deps, config: { ...f.config, callTimeoutMs: 5_000 } }, job, { stop: new AbortController().signal });
    // Once the call hangs and the start was announced, expire the lease and reap, as after a
    // long stall. The stand-in has no event for "a call is hanging", so poll it, bounded.
    await until(async () => f.standIn.stats().hanging === 1 && (await jobRow(f.db, id)).stage === 'generating');
    await f.db.query(`update public.jobs set lease_expires_at = now() - interval '1 second' where id = $1`, [id]);
    await f.db.query('select public.reap_expired_jobs()');
    const report: AttemptReport = await running;
    assert.equal(report.outcome, 'fenced');
    const row = await jobRow(f.db, id);
    assert.equal(row.status, 'queued');
    assert.equal(row.error_class, 'lease_expired');
    assert.deepEqual(await callRows(f.db, id), [], 'an abandoned call is not a provider timeout');
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]]);
  });
});
