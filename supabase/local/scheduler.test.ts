import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startScheduler, type Scheduler } from './scheduler.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/database/cluster.ts';

let database: TestDatabase;
let db: pg.Pool;
before(async () => {
  database = await createTestDatabase();
  db = new pg.Pool({ connectionString: database.url });
  // Dropping the database at the end terminates whatever is still connected; that is expected.
  db.on('error', () => {});
  await db.query('create table public.task_runs (name text, at timestamptz default now())');
});
after(async () => {
  await db.end();
  await database.drop();
});

describe('local scheduler', () => {
  test('a NOTIFY invokes the worker at once; a burst is coalesced', async () => {
    let calls = 0;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const scheduler: Scheduler = await startScheduler({
      dbUrl: database.url,
      channel: 'work_ready',
      sweepMs: 60_000,
      invoke: async () => {
        calls += 1;
        await gate;
      },
    });
    try {
      // The initial catch-up poke on listen.
      release();
      await once(scheduler, 'invoked');
      calls = 0;
      gate = new Promise<void>((r) => (release = r));

      const started = Date.now();
      await db.query(`notify work_ready`);
      while (calls === 0 && Date.now() - started < 5_000) await new Promise((r) => setImmediate(r));
      assert.equal(calls, 1, 'the notification invoked the worker');
      // 50 more notifications while that invocation is still running: one follow-up call.
      let seen = 0;
      const allSeen = new Promise<void>((resolve) =>
        scheduler.on('notification', () => ++seen === 50 && resolve()),
      );
      for (let i = 0; i < 50; i++) await db.query(`notify work_ready`);
      await allSeen;
      assert.equal(calls, 1, 'nothing overlaps the invocation in flight');
      release();
      await once(scheduler, 'invoked');
      await once(scheduler, 'invoked');
      assert.equal(calls, 2, 'the burst became exactly one follow-up invocation');
    } finally {
      await scheduler.stop();
    }
  });

  test('the sweep invokes without notifications, and tasks run their SQL on schedule', async () => {
    let calls = 0;
    const scheduler = await startScheduler({
      dbUrl: database.url,
      channel: 'other_channel',
      sweepMs: 30,
      invoke: async () => void (calls += 1),
      tasks: [{ name: 'record', sql: `insert into public.task_runs (name) values ('record')`, everyMs: 20 }],
    });
    try {
      await once(scheduler, 'task');
      await once(scheduler, 'task');
      const before = calls;
      await once(scheduler, 'invoked');
      await once(scheduler, 'invoked');
      assert.ok(calls >= before + 2);
      const { rows } = await db.query(`select count(*)::int as n from public.task_runs where name = 'record'`);
      assert.ok(rows[0].n >= 2);
    } finally {
      await scheduler.stop();
    }
  });

  test('a sweep with a work check invokes only while the check answers true', async () => {
    await db.query('create table public.work_flag (has_work boolean not null)');
    await db.query('insert into public.work_flag values (false)');
    let calls = 0;
    const scheduler = await startScheduler({
      dbUrl: database.url,
      channel: 'idle_channel',
      sweepMs: 20,
      sweepWhen: 'select has_work from public.work_flag',
      invoke: async () => void (calls += 1),
    });
    try {
      for (let i = 0; i < 5; i++) {
        const [hasWork] = await once(scheduler, 'swept');
        assert.equal(hasWork, false);
      }
      // The catch-up poke when the scheduler starts listening is the only invocation.
      assert.equal(calls, 1, 'five idle sweeps, no invocation');
      const idleStart = calls;
      await db.query('update public.work_flag set has_work = true');
      for (;;) {
        const [hasWork] = await once(scheduler, 'swept');
        if (hasWork) break;
      }
      await once(scheduler, 'invoked');
      assert.ok(calls > idleStart, 'a sweep that finds work invokes');
    } finally {
      await scheduler.stop();
    }
  });

  test('a failing task is reported and does not stop the others', async () => {
    const scheduler = await startScheduler({
      dbUrl: database.url,
      channel: 'c',
      sweepMs: 60_000,
      invoke: async () => {},
      tasks: [
        { name: 'broken', sql: 'select * from missing_table', everyMs: 20 },
        { name: 'fine', sql: 'select 1', everyMs: 20 },
      ],
    });
    try {
      const [name, error] = await once(scheduler, 'task-error');
      assert.equal(name, 'broken');
      assert.match((error as Error).message, /missing_table/);
      await once(scheduler, 'task');
    } finally {
      await scheduler.stop();
    }
  });
});
