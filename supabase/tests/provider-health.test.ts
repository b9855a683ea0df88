import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { balance, claim, createJob, emptyQueue, FLASH, getJob, testDbForFile, PRO, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
beforeEach(async () => {
  await t.db.query(`update public.models set enabled = true, paused = false`);
  await t.db.query(
    `update public.model_health set circuit_state = 'closed', consecutive_failures = 0, opened_at = null, half_open_at = null,
            last_failure_at = null, retry_after_until = null, budget_tokens = 3, budget_refilled_at = now()`,
  );
  await t.db.query(`update public.models set rate_per_minute = 3 where id = $1`, [FLASH]);
});

async function record(outcome: string, model = FLASH, extra: { retryAfter?: number; jobId?: string } = {}) {
  const [row] = await query<{ r: { circuit_state: string; consecutive_failures: number; retry_after_until: string | null } }>(
    t.db,
    'service',
    `select public.record_provider_call($1, now() - interval '2 seconds', 2000, $2, null, $3, 1, $4) as r`,
    [model, outcome, extra.jobId ?? null, extra.retryAfter ?? null],
  );
  return row!.r;
}

async function health(model = FLASH) {
  const { rows } = await t.db.query('select * from public.model_health where model_id = $1', [model]);
  return rows[0];
}

describe('record_provider_call and the circuit breaker', () => {
  test('records the call with the job, its owner and the model price', async () => {
    const job = await createJob(t.db);
    await record('ok', FLASH, { jobId: job.id });
    const { rows } = await t.db.query('select user_id, model_id, outcome, cost_usd, duration_ms from public.provider_calls where job_id = $1', [job.id]);
    assert.deepEqual(rows[0], { user_id: job.user_id, model_id: FLASH, outcome: 'ok', cost_usd: '0.039000', duration_ms: 2000 });
  });

  test('five consecutive server errors open the circuit; four do not', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await record('server_error')).circuit_state, 'closed');
    const fifth = await record('timeout');
    assert.equal(fifth.circuit_state, 'open');
    assert.equal(fifth.consecutive_failures, 5);
    await createJob(t.db);
    assert.deepEqual(await claim(t.db, 5), [], 'an open circuit gets no jobs');
  });

  test('a success resets the count', async () => {
    for (let i = 0; i < 4; i++) await record('server_error');
    await record('ok');
    assert.equal((await record('server_error')).consecutive_failures, 1);
  });

  test('client errors and 429s do not count against the circuit', async () => {
    for (let i = 0; i < 6; i++) await record(i % 2 ? 'client_error' : 'not_found');
    assert.equal((await health()).circuit_state, 'closed');
  });

  test('after the cool-down a successful probe closes the circuit; a failed one re-opens it', async () => {
    for (let i = 0; i < 5; i++) await record('server_error');
    await t.db.query(`update public.model_health set opened_at = now() - interval '31 seconds' where model_id = $1`, [FLASH]);
    await createJob(t.db);
    assert.equal((await claim(t.db, 5)).length, 1, 'one probe');
    assert.equal((await health()).circuit_state, 'half_open');
    assert.equal((await record('server_error')).circuit_state, 'open', 'a failed probe re-opens');
    await t.db.query(`update public.model_health set circuit_state = 'half_open' where model_id = $1`, [FLASH]);
    assert.equal((await record('ok')).circuit_state, 'closed');
  });

  test('a 429 sets retry_after_until from Retry-After: no claims, no budget until then', async () => {
    const r = await record('rate_limited', FLASH, { retryAfter: 20 });
    const until = new Date(r.retry_after_until!).getTime() - Date.now();
    assert.ok(until > 18_000 && until <= 20_500, `about 20 s, got ${until}`);
    await createJob(t.db);
    assert.deepEqual(await claim(t.db, 5), []);
    const [b] = await query(t.db, 'service', 'select public.acquire_model_budget($1) as r', [FLASH]);
    assert.equal(b!.r.granted, false);
    assert.ok(b!.r.wait_seconds > 18 && b!.r.wait_seconds <= 20.5);
  });

  test('refuses unknown models and outcomes', async () => {
    await rejects(record('ok', 'nope-model'), '22023', 'unknown model "nope-model"');
    await rejects(record('weird'), '22023', /^outcome must be one of/);
  });
});

describe('acquire_model_budget', () => {
  test('a token bucket shared by all workers: rate_per_minute tokens, then a wait', async () => {
    const grants = [];
    for (let i = 0; i < 4; i++) {
      const [row] = await query(t.db, 'service', 'select public.acquire_model_budget($1) as r', [FLASH]);
      grants.push(row!.r);
    }
    assert.deepEqual(grants.slice(0, 3).map((g) => g.granted), [true, true, true]);
    assert.equal(grants[3].granted, false);
    // 3 per minute refills one token every 20 s.
    assert.ok(grants[3].wait_seconds > 15 && grants[3].wait_seconds <= 20, `wait about 20 s, got ${grants[3].wait_seconds}`);
  });

  test('claim_jobs with the budget takes one token per job and leaves the rest queued', async () => {
    await emptyQueue(t.db);
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await createJob(t.db));
    const claimed = await query<{ id: string; stage: string; progress: number }>(
      t.db, 'service', 'select id, stage, progress from public.claim_jobs($1, 10, 60, true)', ['worker-b'],
    );
    assert.equal(claimed.length, 3, 'three tokens, three jobs');
    assert.deepEqual(claimed.map((j) => [j.stage, j.progress]), Array(3).fill(['generating', 5]));
    const h = await health();
    assert.ok(h.budget_tokens < 1, `tokens spent, ${h.budget_tokens} left`);
    const [queued] = (await t.db.query(`select count(*)::int as n from public.jobs where status = 'queued' and id = any($1)`, [jobs.map((j) => j.id)])).rows;
    assert.equal(queued.n, 2);
    assert.deepEqual(await query(t.db, 'service', 'select id from public.claim_jobs($1, 10, 60, true)', ['worker-b']), [], 'no token, no claim');
    // The bare claim ignores the budget, as before.
    assert.equal((await claim(t.db, 10)).length, 2);
    await emptyQueue(t.db);
  });

  test('record_provider_call with the lease is the heartbeat: lease, progress and stage, fenced by the token', async () => {
    await emptyQueue(t.db);
    await createJob(t.db);
    const [job] = await claim(t.db, 1, 'worker-r', 10);
    const leaseBefore = job!.lease_expires_at!.getTime();
    const [row] = await query<{ r: { fenced: boolean; circuit_state: string } }>(
      t.db, 'service',
      `select public.record_provider_call($1, now(), 50, 'ok', 200, $2, 1, p_lease_token => $3, p_progress => 90, p_stage => 'storing', p_lease_seconds => 60) as r`,
      [FLASH, job!.id, job!.lease_token],
    );
    assert.equal(row!.r.fenced, false);
    const after = await getJob(t.db, job!.id);
    assert.deepEqual([after.progress, after.stage], [90, 'storing']);
    assert.ok(after.lease_expires_at!.getTime() > leaseBefore + 40_000, 'lease extended to 60 s');

    const [stale] = await query<{ r: { fenced: boolean } }>(
      t.db, 'service',
      `select public.record_provider_call($1, now(), 50, 'ok', 200, $2, 1, p_lease_token => gen_random_uuid(), p_progress => 95) as r`,
      [FLASH, job!.id],
    );
    assert.equal(stale!.r.fenced, true, 'another token is fenced');
    assert.equal((await getJob(t.db, job!.id)).progress, 90, 'and changes nothing of the job');
    const { rows } = await t.db.query('select count(*)::int as n from public.provider_calls where job_id = $1', [job!.id]);
    assert.equal(rows[0].n, 2, 'both calls are recorded: the provider was paid either way');
    await rejects(query(t.db, 'service', `select public.record_provider_call($1, now(), 5, 'ok', p_progress => 101)`, [FLASH]), '22023', /progress must be between 0 and 100/);
    await emptyQueue(t.db);
  });

  test('refills over time', async () => {
    await t.db.query(`update public.model_health set budget_tokens = 0, budget_refilled_at = now() - interval '40 seconds' where model_id = $1`, [FLASH]);
    const [row] = await query(t.db, 'service', 'select public.acquire_model_budget($1, 2) as r', [FLASH]);
    assert.equal(row!.r.granted, true);
  });

  test('only the service role', async () => {
    await rejects(query(t.db, 'admin', 'select public.acquire_model_budget($1)', [FLASH]), '42501', 'permission denied for function acquire_model_budget');
  });
});

describe('model registry operations', () => {
  test('disable_model disables the model and fails-and-refunds its queued jobs, audited', async () => {
    await emptyQueue(t.db);
    const flashJob = await createJob(t.db, 'alice', FLASH);
    const proJob = await createJob(t.db, 'alice', PRO);
    const before = await balance(t.db, 'alice');
    const [row] = await query(t.db, 'admin', `select public.disable_model($1, 'provider says 404') as r`, [PRO]);
    assert.deepEqual(row!.r, { model_id: PRO, failed_jobs: 1, refunded_credits: 4 });
    assert.equal((await getJob(t.db, proJob.id)).status, 'failed');
    assert.equal((await getJob(t.db, proJob.id)).error_class, 'model_disabled');
    assert.equal((await getJob(t.db, flashJob.id)).status, 'queued');
    assert.equal(await balance(t.db, 'alice'), before + 4);
    await rejects(query(t.db, 'alice', 'select public.create_job($1, $2)', [PRO, 'x']), '22023', `model "${PRO}" is disabled`);
    const { rows } = await t.db.query('select action, job_ids, reason from public.audit_log order by id desc limit 1');
    assert.deepEqual(rows[0], { action: 'disable_model', job_ids: [proJob.id], reason: 'provider says 404' });
  });

  test('set_model_paused pauses and resumes; admin only', async () => {
    const [row] = await query(t.db, 'admin', `select (public.set_model_paused($1, true, 'maintenance')).paused as paused`, [FLASH]);
    assert.equal(row!.paused, true);
    await rejects(query(t.db, 'support', `select public.set_model_paused($1, false, 'x')`, [FLASH]), '42501', /^permission denied: set_model_paused requires the admin role/);
    await rejects(query(t.db, 'admin', `select public.set_model_paused('nope', false, 'x')`), 'PT404', 'model not found');
  });

  test('set_model_verification records what the worker found', async () => {
    const [row] = await query(t.db, 'service', `select (public.set_model_verification($1, 'verified', 'listed by the provider')).verification_state as s`, [FLASH]);
    assert.equal(row!.s, 'verified');
    await rejects(query(t.db, 'service', `select public.set_model_verification($1, 'maybe')`, [FLASH]), '22023', 'state must be one of unverified, verified, failed');
  });
});
