import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Scheduler } from '../../local/scheduler.ts';
import { signedInClient } from '../../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../../testkit/demo-users.ts';
import { startWorkerDispatch } from '../../local/worker-dispatch.ts';
import { callRows, FLASH, jobRow, ledger, startWorkerFixture, type WorkerFixture } from './worker-fixture.ts';
import { unknownSecretKey } from '../../../testkit/http/tokens.ts';
import { until } from '../../../testkit/wait.ts';

// End to end: supabase-js enqueues as a signed-in user, the enqueue trigger NOTIFYs, the local
// scheduler invokes POST /functions/v1/job-worker through the gateway, and the worker runs in
// real Deno (npm: imports, the edge-runtime shim) against the Gemini stand-in.
let f: WorkerFixture;
let dispatch: Scheduler;
before(async () => {
  f = await startWorkerFixture({
    functions: {
      instances: 2,
      // Calls long enough that a test can act while one hangs.
      env: { GEMINI_CALL_TIMEOUT_MS: '10000', WORKER_ATTEMPT_BUDGET_MS: '20000', WORKER_LEASE_SECONDS: '30', WORKER_HEARTBEAT_MS: '2000' },
    },
  });
  dispatch = await startWorkerDispatch({
    dbUrl: f.stack.dbUrl,
    apiUrl: f.stack.apiUrl,
    secretKey: f.stack.secretKey,
    sweepMs: 2_000,
    reapEveryMs: 1_000,
  });
});
after(async () => {
  await dispatch?.stop();
  await f?.stop();
});

describe('the job-worker edge function', () => {
  test('a job created through supabase-js is picked up on NOTIFY, generated in Deno, stored and readable by its owner', async () => {
    const alice = (await signedInClient(f.stack, 'alice')).client;
    const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: 'a red kite over the dunes', p_options: { aspect_ratio: '1:1' } });
    assert.equal(error, null);
    const done = await until(async () => {
      const row = await jobRow(f.db, job.id);
      return row.status === 'succeeded' || row.status === 'failed' ? row : undefined;
    }, { timeoutMs: 30_000, label: 'the job to finish' });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result!.path, `${DEMO_USERS.alice.id}/${job.id}.png`);
    // The deployed worker stores the image only: the app makes the gallery thumbnail when it is viewed.
    assert.equal(done.result!.thumbnail_path, undefined);
    const listed = await alice.storage.from('results').list(DEMO_USERS.alice.id, { search: job.id });
    assert.deepEqual(listed.data?.map((o) => o.name), [`${job.id}.png`], 'no thumbnail object');
    const calls = await callRows(f.db, job.id);
    assert.equal(calls.length, 1);
    assert.match(calls[0]!.worker_id, /^job-worker:[0-9a-f-]{36}$/, 'recorded by the Deno worker');
    const image = await alice.storage.from('results').download(done.result!.path as string);
    assert.equal(image.error, null);
    assert.equal(image.data!.size, done.result!.bytes);
    const bob = (await signedInClient(f.stack, 'bob')).client;
    assert.ok((await bob.storage.from('results').download(done.result!.path as string)).error);
    const { rows } = await f.db.query(`select to_status, actor_role from public.job_events where job_id = $1 order by id`, [job.id]);
    assert.deepEqual(rows, [
      { to_status: 'queued', actor_role: 'user' },
      { to_status: 'running', actor_role: 'worker' },
      { to_status: 'succeeded', actor_role: 'worker' },
    ]);
    assert.ok(f.functions!.pids('job-worker').length >= 1);
  });

  test('only the secret key (or, while legacy keys are on, the service-role key) may invoke it', async () => {
    const url = `${f.stack.apiUrl}/functions/v1/job-worker`;
    const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', headers, body: '{}' });
    assert.equal((await post({})).status, 401, 'no credential');
    assert.equal((await post({ apikey: unknownSecretKey() })).status, 401, 'a key the project does not have');
    assert.equal((await post({ apikey: f.stack.publishableKey })).status, 403, 'the publishable key');
    assert.equal((await post({ authorization: `Bearer ${f.stack.publishableKey}` })).status, 403, 'the publishable key as bearer');
    const alice = (await signedInClient(f.stack, 'alice')).client;
    const token = (await alice.auth.getSession()).data.session!.access_token;
    assert.equal((await post({ apikey: f.stack.publishableKey, authorization: `Bearer ${token}` })).status, 403, "alice's token");
    // supabase-js as alice: her token and the publishable key, as any signed-in app would send them.
    assert.equal((await alice.functions.invoke('job-worker', { body: {} })).response?.status, 403);
    const ok = await post({ apikey: f.stack.secretKey });
    assert.equal(ok.status, 202);
    assert.deepEqual(Object.keys(await ok.json()).sort(), ['claimed', 'in_flight', 'worker_id']);
    if (f.stack.serviceRoleKey) {
      assert.equal((await post({ authorization: `Bearer ${f.stack.serviceRoleKey}` })).status, 202, 'the legacy service-role key');
    }
  });

  test('SIGTERM: beforeunload gives the held job back, the next worker finishes it, the attempt is not counted', async () => {
    f.standIn.force({ outcome: 'hang', count: 1 });
    const { id } = await f.enqueue('alice');
    await until(() => f.standIn.stats().hanging === 1, { timeoutMs: 30_000, label: 'the call to hang' });
    const before = await jobRow(f.db, id);
    assert.equal(before.status, 'running');
    for (const pid of f.functions!.pids('job-worker')) process.kill(pid, 'SIGTERM');
    const done = await until(async () => {
      const row = await jobRow(f.db, id);
      return row.status === 'succeeded' ? row : undefined;
    }, { timeoutMs: 30_000, label: 'the job to finish' });
    assert.equal(done.attempt, 1, 'the interrupted attempt was given back');
    const { rows } = await f.db.query(
      `select to_status, actor_role, detail ->> 'reason' as reason from public.job_events where job_id = $1 order by id`,
      [id],
    );
    assert.deepEqual(rows.map((r) => r.to_status), ['queued', 'running', 'queued', 'running', 'succeeded']);
    assert.equal(rows[2]!.reason, 'worker shutting down');
    assert.deepEqual(await ledger(f.db, id), [['job_charge', -1]]);
  });
});
