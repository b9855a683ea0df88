import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import pg from 'pg';
import { ADMIN_JOBS_TOPIC, parseAdminJobChanges, type AdminJobChange } from '../../lib/admin-jobs/admin-job-change.ts';
import { DEMO_USERS } from '../demo-users.ts';
import { createTestDatabase, type TestDatabase } from './cluster.ts';

/**
 * Acting as a caller the way PostgREST does: in one transaction, switch to the API role and set
 * the verified JWT's claims, then run the statement. `service` is the worker's service-role key;
 * `support` and `admin` carry app_metadata.role as the demo accounts' JWTs do.
 */
export type Actor = 'anon' | 'alice' | 'bob' | 'support' | 'admin' | 'service';
export const ACTORS: Actor[] = ['anon', 'alice', 'bob', 'support', 'admin', 'service'];

export const FLASH = 'gemini-2.5-flash-image';
export const PRO = 'gemini-3-pro-image-preview';

/** The API role and JWT claims a request carries: a named actor's, or any other for tests of the claims themselves. */
export interface Identity {
  role: string;
  claims: Record<string, unknown>;
}

export function identity(actor: Actor): Identity {
  switch (actor) {
    case 'anon':
      return { role: 'anon', claims: { role: 'anon' } };
    case 'service':
      return { role: 'service_role', claims: { role: 'service_role' } };
    case 'alice':
    case 'bob':
      return { role: 'authenticated', claims: { sub: DEMO_USERS[actor].id, role: 'authenticated', app_metadata: {} } };
    case 'support':
    case 'admin':
      return {
        role: 'authenticated',
        claims: { sub: DEMO_USERS[actor].id, role: 'authenticated', app_metadata: { role: actor } },
      };
  }
}

/** Runs `fn` inside a transaction acting as `actor`; commits on success, rolls back on error. */
export async function as<T>(db: pg.Pool | pg.ClientBase, actor: Actor | Identity, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  const { role, claims } = typeof actor === 'string' ? identity(actor) : actor;
  try {
    await client.query('begin');
    await client.query(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [
      role,
      JSON.stringify(claims),
    ]);
    try {
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback');
      throw error;
    }
  } finally {
    if (db instanceof pg.Pool) (client as pg.PoolClient).release();
  }
}

/** One statement as `actor`; returns its rows. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: pg.Pool | pg.Client,
  actor: Actor,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  return as(db, actor, async (c) => (await c.query<R>(sql, params)).rows);
}

/** Asserts that `promise` fails with this SQLSTATE and a message matching `message`. */
export async function rejects(promise: Promise<unknown>, code: string, message: RegExp | string): Promise<void> {
  await assert.rejects(promise, (error: pg.DatabaseError) => {
    assert.equal(error.code, code, `expected SQLSTATE ${code}, got ${error.code}: ${error.message}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

export interface TestDb {
  database: TestDatabase;
  /** Superuser pool on the test's own database, for arranging and asserting. */
  db: pg.Pool;
  close(): Promise<void>;
}

/**
 * A database of the test file's own for all of its tests: opened before the first, closed after
 * the last (node:test hooks registered by the call). Read its fields inside tests and hooks.
 */
export function testDbForFile(max?: number): TestDb {
  const handle = {} as TestDb;
  before(async () => {
    Object.assign(handle, await openTestDb(max));
  });
  after(async () => {
    await handle.close?.();
  });
  return handle;
}

export async function openTestDb(max = 6): Promise<TestDb> {
  const database = await createTestDatabase();
  const db = new pg.Pool({ connectionString: database.url, max });
  db.on('error', () => {});
  return {
    database,
    db,
    async close() {
      await db.end();
      await database.drop();
    },
  };
}

export interface Job {
  id: string;
  user_id: string;
  model_id: string;
  status: string;
  attempt: number;
  max_attempts: number;
  lease_token: string | null;
  lease_expires_at: Date | null;
  run_at: Date;
  credits_cost: number;
  charge_seq: number;
  progress: number;
  stage: string | null;
  error_class: string | null;
  errors: unknown[];
  worker_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function createJob(db: pg.Pool, actor: Actor = 'alice', model = FLASH, options: object = {}): Promise<Job> {
  const [job] = await query<Job>(db, actor, 'select * from public.create_job($1, $2, $3)', [
    model,
    'a lighthouse at dusk',
    JSON.stringify(options),
  ]);
  return job!;
}

export async function claim(db: pg.Pool, limit = 1, worker = 'worker-1', leaseSeconds = 60): Promise<Job[]> {
  return query<Job>(db, 'service', 'select * from public.claim_jobs($1, $2, $3)', [worker, limit, leaseSeconds]);
}

/** An admin:jobs message as written to realtime.messages, and the job's change in it as the console reads it. */
export interface AdminJobsMessage {
  event: string;
  private: boolean;
  extension: string;
  payload: { jobs: unknown[][] };
  change: AdminJobChange;
}

/** The admin:jobs messages that carry a job's change (one statement's changes each), oldest first. */
export async function adminJobsMessagesFor(db: pg.Pool | pg.ClientBase, jobId: string): Promise<AdminJobsMessage[]> {
  const { rows } = await db.query(
    `select event, private, extension, payload from realtime.messages
      where topic = $1 and payload -> 'jobs' @> jsonb_build_array(jsonb_build_array($2::text))
      order by inserted_at, id`,
    [ADMIN_JOBS_TOPIC, jobId],
  );
  return rows.map((row) => ({ ...row, change: parseAdminJobChanges(row.payload).find((c) => c.id === jobId)! }));
}

export async function getJob(db: pg.Pool, id: string): Promise<Job> {
  const { rows } = await db.query<Job>('select * from public.jobs where id = $1', [id]);
  return rows[0]!;
}

export async function balance(db: pg.Pool, user: 'alice' | 'bob'): Promise<number> {
  const { rows } = await db.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [
    DEMO_USERS[user].id,
  ]);
  return Number(rows[0]?.balance ?? 0);
}

/** Every state, reached through the real functions, all owned by alice: */
export interface JobsInEveryState {
  queued: Job;
  /** queued, but run_at ten minutes out after a retryable failure with Retry-After */
  delayed: Job;
  running: Job;
  succeeded: Job;
  failed: Job;
  cancelled: Job;
}

/**
 * Makes one job in every state. Each claim happens while exactly one job is ready, so the
 * fixture is deterministic; the queued job is created last, after every claim.
 */
export async function jobsInEveryState(db: pg.Pool): Promise<JobsInEveryState> {
  const succeeded = await createJob(db);
  const [s] = await claim(db);
  await query(db, 'service', 'select public.complete_job($1, $2)', [s!.id, s!.lease_token]);

  const failed = await createJob(db);
  const [f] = await claim(db);
  await query(db, 'service', `select public.fail_job($1, $2, 'client_error', 'bad request', false)`, [f!.id, f!.lease_token]);

  const cancelled = await createJob(db);
  await query(db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'changed my mind')`, [cancelled.id]);

  const delayed = await createJob(db);
  const [d] = await claim(db);
  await query(db, 'service', `select public.fail_job($1, $2, 'rate_limited', '429', true, 600)`, [d!.id, d!.lease_token]);

  const running = await createJob(db);
  await claim(db);

  const queued = await createJob(db);
  const all = { queued, delayed, running, succeeded, failed, cancelled };
  for (const key of Object.keys(all) as (keyof JobsInEveryState)[]) all[key] = await getJob(db, all[key].id);
  for (const [state, job] of Object.entries(all)) {
    assert.equal(job.status, state === 'delayed' ? 'queued' : state, `fixture: ${state}`);
  }
  return all;
}

/** Statuses of the given jobs, keyed by id, read as superuser. */
export async function statuses(db: pg.Pool, ids: string[]): Promise<Record<string, string>> {
  const { rows } = await db.query<{ id: string; status: string }>('select id, status from public.jobs where id = any($1)', [
    ids,
  ]);
  return Object.fromEntries(rows.map((r) => [r.id, r.status]));
}

/**
 * Takes every queued and running job out of the way (written directly, as if cancelled), so a
 * test's claims see only the jobs it makes: earlier tests' ready jobs would be claimed first.
 */
export async function emptyQueue(db: pg.Pool): Promise<void> {
  await db.query(`update public.jobs set status = 'cancelled', lease_token = null, lease_expires_at = null where status in ('queued', 'running')`);
}

/** How many notifications on `channel` the database delivered while `fn` ran (delivered at commit). */
export async function notificationsDuring(t: { database: { url: string } }, channel: string, fn: () => Promise<unknown>): Promise<number> {
  const listener = new pg.Client({ connectionString: t.database.url });
  await listener.connect();
  let count = 0;
  listener.on('notification', (n) => {
    if (n.channel === channel) count++;
  });
  await listener.query(`listen ${channel}`);
  try {
    await fn();
    // A round trip on the listening connection after the commit: Postgres has delivered any
    // notification of that commit to this session before it answers.
    await listener.query('select 1');
    return count;
  } finally {
    await listener.end();
  }
}

/**
 * Moves jobs and everything they wrote `days` into the past: timeline, calls, ledger rows and
 * the job's own times. History is moved, not rewritten: the append-only triggers are bypassed
 * for this only (session_replication_role).
 */
export async function moveJobsBack(db: pg.Pool, ids: string[], days: number): Promise<void> {
  const client = await db.connect();
  const shift = `${days} days`;
  try {
    await client.query('set session_replication_role = replica');
    await client.query(`update public.job_events set at = at - $2::interval where job_id = any($1)`, [ids, shift]);
    await client.query(
      `update public.provider_calls set recorded_at = recorded_at - $2::interval, started_at = started_at - $2::interval where job_id = any($1)`,
      [ids, shift],
    );
    await client.query(`update public.credit_ledger set created_at = created_at - $2::interval where job_id = any($1)`, [ids, shift]);
    await client.query(
      `update public.jobs set created_at = created_at - $2::interval, updated_at = updated_at - $2::interval,
              attempted_at = attempted_at - $2::interval, finished_at = finished_at - $2::interval where id = any($1)`,
      [ids, shift],
    );
  } finally {
    await client.query('set session_replication_role = origin');
    client.release();
  }
}
