import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { claim, createJob, getJob, testDbForFile, query } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

const WORKERS = 8;
const JOBS = 5000;

describe('claiming under contention', () => {
  test(`${WORKERS} connections drain ${JOBS} jobs: each job claimed once per attempt, never held by two workers`, async () => {
    await t.db.query(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, 'gemini-2.5-flash-image', 'race ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $2::integer) g`,
      [DEMO_USERS.alice.id, JOBS],
    );
    // Worker connections: a direct database session is the service role (no JWT).
    const clients = await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        const c = new pg.Client({ connectionString: t.database.url });
        await c.connect();
        return c;
      }),
    );
    // Which worker holds each job right now: a second holder would be the bug under test.
    const holder = new Map<string, number>();
    const claims = new Map<string, number>();
    let overlaps = 0;
    let fenced = 0;
    try {
      await Promise.all(
        clients.map(async (client, w) => {
          for (;;) {
            // Small, uneven batches make the claimers collide on the same index pages constantly.
            const { rows } = await client.query<{ id: string; lease_token: string; attempt: number }>(
              'select id, lease_token, attempt from public.claim_jobs($1, $2, 60)',
              [`race-${w}`, 5 + w],
            );
            if (rows.length === 0) return;
            for (const job of rows) {
              if (holder.has(job.id)) overlaps++;
              holder.set(job.id, w);
              const key = `${job.id}:${job.attempt}`;
              claims.set(key, (claims.get(key) ?? 0) + 1);
            }
            for (const job of rows) {
              const { rows: done } = await client.query<{ r: { outcome: string } }>('select public.complete_job($1, $2) as r', [
                job.id,
                job.lease_token,
              ]);
              if (done[0]!.r.outcome !== 'succeeded') fenced++;
              holder.delete(job.id);
            }
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    assert.equal(overlaps, 0, 'no job was handed to a second worker while the first held it');
    assert.equal(fenced, 0);
    assert.equal(claims.size, JOBS, 'every job was claimed');
    assert.ok([...claims.values()].every((n) => n === 1), 'each job claimed exactly once for its one attempt');
    const { rows } = await t.db.query<{ claims: number; jobs: number; succeeded: number }>(`
      select (select count(*)::integer from public.job_events where to_status = 'running') as claims,
             (select count(distinct job_id)::integer from public.job_events where to_status = 'running') as jobs,
             (select count(*)::integer from public.jobs where status = 'succeeded') as succeeded`);
    assert.deepEqual(rows[0], { claims: JOBS, jobs: JOBS, succeeded: JOBS });
  });

  test('a worker whose lease expired and whose job was reclaimed cannot complete, fail or heartbeat it', async () => {
    const job = await createJob(t.db);
    const [first] = await claim(t.db, 1, 'slow-worker', 5);
    assert.equal(first!.id, job.id);
    // The slow worker stalls past its lease; the reaper requeues; another worker claims it.
    await t.db.query(`update public.jobs set lease_expires_at = now() - interval '1 second' where id = $1`, [job.id]);
    await query(t.db, 'service', 'select public.reap_expired_jobs()');
    await t.db.query(`update public.jobs set run_at = now() where id = $1`, [job.id]);
    const [second] = await claim(t.db, 1, 'fast-worker');
    assert.equal(second!.id, job.id);
    assert.equal(second!.attempt, 2);

    const stale = first!.lease_token;
    const [c] = await query(t.db, 'service', 'select public.complete_job($1, $2) as r', [job.id, stale]);
    assert.deepEqual(c!.r, { outcome: 'fenced', status: 'running' });
    const [f] = await query(t.db, 'service', `select public.fail_job($1, $2, 'timeout', 'late', false) as r`, [job.id, stale]);
    assert.deepEqual(f!.r, { outcome: 'fenced', status: 'running' });
    const [h] = await query(t.db, 'service', 'select public.heartbeat_job($1, $2, 99) as r', [job.id, stale]);
    assert.deepEqual(h!.r, { fenced: true, status: 'running' });

    const current = await getJob(t.db, job.id);
    assert.equal(current.worker_id, 'fast-worker');
    assert.equal(current.lease_token, second!.lease_token);
    assert.equal(current.progress, 0);
    const [ok] = await query(t.db, 'service', 'select public.complete_job($1, $2) as r', [job.id, second!.lease_token]);
    assert.deepEqual(ok!.r, { outcome: 'succeeded', status: 'succeeded' });
  });
});
