import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { as, claim, createJob, FLASH, testDbForFile, type Actor } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** create_job as PostgREST runs it: the request's headers in `request.headers`. */
async function createWithHeaders(actor: Actor, headers: Record<string, string>): Promise<{ id: string; traceparent: string }> {
  return as(t.db, actor, async (c) => {
    await c.query(`select set_config('request.headers', $1, true)`, [JSON.stringify(headers)]);
    const { rows } = await c.query(`select id, traceparent from public.create_job($1, 'a lighthouse at dusk', '{}')`, [FLASH]);
    return rows[0];
  });
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

describe('a job trace context', () => {
  test('a job made with no incoming context starts its own trace, sampled', async () => {
    const a = await createJob(t.db, 'alice');
    const b = await createJob(t.db, 'alice');
    const { rows } = await t.db.query<{ traceparent: string }>('select traceparent from public.jobs where id = any($1) order by created_at, id', [[a.id, b.id]]);
    const [ta, tb] = rows.map((r) => r.traceparent) as [string, string];
    assert.match(ta, TRACEPARENT);
    assert.match(tb, TRACEPARENT);
    assert.ok(ta.endsWith('-01'));
    assert.equal(ta.slice(36, 52), ta.slice(3, 19), 'the parent span id marks a trace the database started');
    assert.notEqual(ta.slice(3, 35), tb.slice(3, 35), 'each job its own trace id');
  });

  test('a well-formed traceparent header is kept as the job trace context', async () => {
    const incoming = `00-${randomHex(16)}-${randomHex(8)}-01`;
    const job = await createWithHeaders('alice', { traceparent: incoming });
    assert.equal(job.traceparent, incoming);
  });

  const malformed: [string, string][] = [
    ['garbage', 'not-a-traceparent'],
    ['upper-case hex', `00-${randomHex(16).toUpperCase()}-${randomHex(8)}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${randomHex(8)}-01`],
    ['an all-zero parent id', `00-${randomHex(16)}-${'0'.repeat(16)}-01`],
    ['an unknown version', `01-${randomHex(16)}-${randomHex(8)}-01`],
    ['a trailing field', `00-${randomHex(16)}-${randomHex(8)}-01-extra`],
    ['a SQL-looking value', `00-'; drop table public.jobs; --`],
  ];
  for (const [what, value] of malformed) {
    test(`a traceparent with ${what} starts a new trace and is no error`, async () => {
      const job = await createWithHeaders('alice', { traceparent: value });
      assert.match(job.traceparent, TRACEPARENT);
      assert.notEqual(job.traceparent, value);
    });
  }

  // The table's own rule (one of jobs_row_valid's), whatever writes the column: the 55-character
  // shapes that only the field lengths or the separators get wrong are among them.
  const notStored: [string, string][] = [
    ['a 31-digit trace id and a 17-digit parent id', `00-${randomHex(16).slice(1)}-${randomHex(9).slice(1)}-01`],
    ['upper-case hex', `00-${randomHex(16).toUpperCase()}-${randomHex(8)}-01`],
    ['an unknown version', `01-${randomHex(16)}-${randomHex(8)}-01`],
    ['a non-hex digit', `00-${randomHex(16).slice(1)}g-${randomHex(8)}-01`],
    ['no dash before the parent id', `00-${randomHex(16)}x${randomHex(8)}-01`],
    ['an empty flags field', `00-${randomHex(16)}-${randomHex(8)}--1`],
    ['three flag digits', `00-${randomHex(16)}-${randomHex(8)}-011`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${randomHex(8)}-01`],
    ['an all-zero parent id', `00-${randomHex(16)}-${'0'.repeat(16)}-01`],
  ];
  // One job for all of them (a user may have only so many queued).
  let handWritten: Promise<{ id: string }> | undefined;
  const handWrittenJob = () => (handWritten ??= createJob(t.db, 'bob'));
  for (const [what, value] of notStored) {
    test(`a traceparent with ${what} is refused by the jobs table itself`, async () => {
      const job = await handWrittenJob();
      await assert.rejects(t.db.query('update public.jobs set traceparent = $1 where id = $2', [value, job.id]), (error: { code?: string; constraint?: string }) => {
        assert.equal(error.code, '23514');
        assert.equal(error.constraint, 'jobs_row_valid');
        return true;
      });
    });
  }

  test('a well-formed traceparent written by hand is stored as it is', async () => {
    const job = await handWrittenJob();
    const value = `00-${randomHex(16)}-${randomHex(8)}-00`;
    await t.db.query('update public.jobs set traceparent = $1 where id = $2', [value, job.id]);
    const { rows } = await t.db.query<{ traceparent: string }>('select traceparent from public.jobs where id = $1', [job.id]);
    assert.equal(rows[0]!.traceparent, value);
  });

  test("a client cannot put its job on another job's trace: the second job starts a trace of its own", async () => {
    const incoming = `00-${randomHex(16)}-${randomHex(8)}-01`;
    const alices = await createWithHeaders('alice', { traceparent: incoming });
    const bobs = await createWithHeaders('bob', { traceparent: `00-${incoming.slice(3, 35)}-${randomHex(8)}-01` });
    assert.equal(alices.traceparent, incoming);
    assert.match(bobs.traceparent, TRACEPARENT);
    assert.notEqual(bobs.traceparent.slice(3, 35), incoming.slice(3, 35));
  });

  test('concurrent jobs naming the same trace: one keeps it, the other gets its own, neither fails', async () => {
    const incoming = `00-${randomHex(16)}-${randomHex(8)}-01`;
    const jobs = await Promise.all([createWithHeaders('alice', { traceparent: incoming }), createWithHeaders('bob', { traceparent: incoming })]);
    const kept = jobs.filter((j) => j.traceparent === incoming);
    assert.equal(kept.length, 1);
  });

  test('the claim hands the worker the job with its trace context', async () => {
    const incoming = `00-${randomHex(16)}-${randomHex(8)}-01`;
    const job = await createWithHeaders('alice', { traceparent: incoming });
    const claimed = await claim(t.db, 50);
    const mine = claimed.find((j) => j.id === job.id) as { traceparent?: string } | undefined;
    assert.equal(mine?.traceparent, incoming);
  });
});
