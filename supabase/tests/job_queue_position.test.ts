import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { type Actor, as, claim, createJob, emptyQueue, FLASH, jobsInEveryState, testDbForFile, PRO, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
// Each test starts from an empty queue and no latency history.
beforeEach(async () => {
  await emptyQueue(t.db);
  await t.db.query(`update public.models set enabled = true, paused = false`);
  await t.db.query(`delete from public.metrics_provider_minute`);
  await t.db.query(`update public.metrics_rollup_state set rolled_until = null`);
  await t.db.query(`delete from public.provider_calls`);
});

interface Position {
  job_id: string;
  model_id: string;
  status: string;
  ahead: number | null;
  ahead_capped: boolean;
  running: number;
  model_paused: boolean;
  latency_p50_ms: number | null;
  latency_calls: number;
}

/** A node of `explain (format json)`: the fields the tests read, and its children. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
  [field: string]: unknown;
}

async function position(actor: Actor, jobId: string): Promise<Position | null> {
  const [row] = await query<{ p: Position | null }>(t.db, actor, 'select public.job_queue_position($1) as p', [jobId]);
  return row!.p;
}

/** `n` queued jobs of bob's, created directly (faster than n create_job calls), oldest first. */
async function bobsQueuedJobs(n: number, runAt = `now() - interval '1 hour'`, model = FLASH) {
  await t.db.query(
    `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at, run_at)
     select $1, $2, 'ahead ' || g, 3, 1, now() + interval '1 hour', ${runAt} + g * interval '1 millisecond'
       from generate_series(1, $3::integer) g`,
    [DEMO_USERS.bob.id, model, n],
  );
}

/** `n` succeeded jobs of bob's, written without triggers as a restore would: a finished history. */
async function finishedHistory(n: number) {
  const client = await t.db.connect();
  try {
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into public.jobs (user_id, model_id, prompt, status, max_attempts, credits_cost, deadline_at, finished_at)
       select $1, $2, 'history', 'succeeded', 3, 1, now(), now() from generate_series(1, $3::integer)`,
      [DEMO_USERS.bob.id, FLASH, n],
    );
  } finally {
    await client.query('set session_replication_role = origin');
    client.release();
  }
}

/**
 * A table that holds only a backlog of `n` of bob's FLASH jobs, enqueued in one statement (the
 * table emptied without triggers first), and statistics taken over it.
 */
async function oneModelBacklog(n: number) {
  const client = await t.db.connect();
  try {
    await client.query('set session_replication_role = replica');
    await client.query('delete from public.jobs');
    await client.query('set session_replication_role = origin');
    await client.query(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, $2, 'backlog ' || g, 3, 1, now() + interval '1 hour' from generate_series(1, $3::integer) g`,
      [DEMO_USERS.bob.id, FLASH, n],
    );
    await client.query('analyze public.jobs');
  } finally {
    client.release();
  }
}

/**
 * A claim of `limit` on a connection of its own (a session keeps the plans it made, and this one
 * must plan under `settings`), with auto_explain showing the plans of the statements it runs,
 * the trigger's included: the claimed ids and the plans whose text contains `marker`.
 */
async function claimExplained(limit: number, marker: string, settings: string[] = []) {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  const plans: { 'Query Text': string; Plan: PlanNode }[] = [];
  const onNotice = (notice: { message?: string }) => {
    const text = notice.message ?? '';
    if (text.includes(marker)) plans.push(JSON.parse(text.slice(text.indexOf('{'))));
  };
  try {
    await client.query(`load 'auto_explain'`);
    for (const setting of [
      'auto_explain.log_min_duration = 0', 'auto_explain.log_nested_statements = on', 'auto_explain.log_analyze = on',
      'auto_explain.log_timing = off', `auto_explain.log_format = 'json'`, `auto_explain.log_level = 'notice'`, ...settings,
    ]) await client.query(`set ${setting}`);
    client.on('notice', onNotice);
    const claimed = await as(client, 'service', async (c) =>
      (await c.query<{ id: string }>(`select id from public.claim_jobs('worker-1', $1, 60) order by priority desc, run_at, id`, [limit])).rows);
    return { claimed, plans };
  } finally {
    client.off('notice', onNotice);
    await client.end();
  }
}

/** A scan that returned, or read and filtered out, more than `limit` rows a loop fails the test. */
function assertReadsAtMost(scan: PlanNode, limit: number, plan: PlanNode) {
  const read = (scan['Actual Rows'] ?? 0) + (scan['Rows Removed by Filter'] ?? 0);
  assert.ok(read <= limit, `a scan of jobs read ${read} rows (${scan['Rows Removed by Filter'] ?? 0} filtered out): ${JSON.stringify(plan)}`);
}

/** Every scan of jobs in a plan. */
function jobScans(plan: PlanNode): PlanNode[] {
  const scans: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    if (node['Relation Name'] === 'jobs') scans.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return scans;
}

describe('job_queue_position', () => {
  test('counts the jobs of the same model a worker claims first, in claim order', async () => {
    const first = await createJob(t.db, 'bob');
    const second = await createJob(t.db, 'bob');
    const otherModel = await createJob(t.db, 'bob', PRO);
    const mine = await createJob(t.db, 'alice');
    const later = await createJob(t.db, 'bob');
    assert.equal((await position('alice', mine.id))!.ahead, 2, 'two flash jobs before it; the pro job and the later one do not count');
    assert.equal((await position('bob', first.id))!.ahead, 0);
    assert.equal((await position('bob', later.id))!.ahead, 3);
    assert.equal((await position('bob', otherModel.id))!.ahead, 0);

    // A higher priority jumps the queue, as it does in claim_jobs.
    await t.db.query('update public.jobs set priority = 5 where id = $1', [later.id]);
    assert.equal((await position('alice', mine.id))!.ahead, 3);
    assert.equal((await position('bob', later.id))!.ahead, 0);

    // And the count agrees with what claim_jobs actually takes before it.
    const claimed = await claim(t.db, 3);
    assert.deepEqual(claimed.map((j) => j.id).sort(), [later.id, first.id, second.id].sort());
    const now = (await position('alice', mine.id))!;
    assert.equal(now.ahead, 0);
    assert.equal(now.running, 3, 'the three claimed flash jobs are running');
    assert.equal(now.status, 'queued');
  });

  test('a running or finished job has no position, only the running count and the latency', async () => {
    const jobs = await jobsInEveryState(t.db);
    for (const state of ['running', 'succeeded', 'failed', 'cancelled'] as const) {
      const p = (await position('alice', jobs[state].id))!;
      assert.equal(p.status, state);
      assert.equal(p.ahead, null, state);
      assert.equal(p.ahead_capped, false, state);
      assert.equal(p.running, 1, state);
    }
    // A retry waiting for its run_at still has a place: after everything runnable before it.
    const delayed = (await position('alice', jobs.delayed.id))!;
    assert.equal(delayed.status, 'queued');
    assert.equal(delayed.ahead, 1, 'the plain queued job is claimed first');
  });

  test('stops counting at 1000 and says so', async () => {
    await bobsQueuedJobs(1500);
    const mine = await createJob(t.db, 'alice');
    const p = (await position('alice', mine.id))!;
    assert.equal(p.ahead, 1000);
    assert.equal(p.ahead_capped, true);

    await t.db.query(`update public.jobs set status = 'cancelled' where status = 'queued' and prompt like 'ahead %' and prompt <> 'ahead 1'`);
    const one = (await position('alice', mine.id))!;
    assert.equal(one.ahead, 1);
    assert.equal(one.ahead_capped, false);
  });

  test('the ahead count reads only the queue ahead of the job in claim order, whatever else the table holds', async () => {
    // A production-shaped table: mostly finished history (written without triggers, as a
    // restore would), a short queue of its model ahead of the job, a long one behind it, and a
    // paused model's backlog older than all of them.
    await finishedHistory(50000);
    await bobsQueuedJobs(20000, `now() - interval '2 hours'`, PRO);
    await bobsQueuedJobs(50);
    const mine = await createJob(t.db, 'alice');
    await bobsQueuedJobs(20000, `now() + interval '1 hour'`);
    await t.db.query('analyze public.jobs');
    const [job] = (await t.db.query('select model_id, priority, run_at, id from public.jobs where id = $1', [mine.id])).rows;
    // The function's statement for the same-priority part, with this job's values.
    const { rows } = await t.db.query(
      `explain (analyze, format json)
       select count(*) from (select 1 from public.jobs j
        where j.status = 'queued' and j.model_id = $1 and j.priority = $2
          and (j.run_at, j.id) < ($3::timestamptz, $4::uuid)
        order by j.run_at, j.id limit 1000) x`,
      [job.model_id, job.priority, job.run_at, job.id],
    );
    const plan = JSON.stringify(rows[0]['QUERY PLAN']);
    assert.doesNotMatch(plan, /Seq Scan/);
    const nodes: PlanNode[] = [];
    const walk = (node: PlanNode) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(rows[0]['QUERY PLAN'][0].Plan);
    const scan = nodes.find((n) => n['Index Name'] === 'jobs_queue_by_model_idx');
    assert.ok(scan, plan);
    assert.equal(scan['Actual Rows'], 50, 'the 50 jobs ahead');
    assert.equal(scan['Rows Removed by Filter'] ?? 0, 0, 'nothing else read: not the other model\'s jobs, none behind, none finished');
    assert.equal((await position('alice', mine.id))!.ahead, 50);
  });

  test('the latency is the median of the model\'s recent calls, from rollups and the raw tail', async () => {
    const mine = await createJob(t.db, 'alice');
    assert.equal((await position('alice', mine.id))!.latency_p50_ms, null, 'no calls, no latency');
    // 30 calls of about 4 s and 10 of 20 s ten minutes ago (rolled up), plus one an hour ago that
    // is outside the window; the other model's calls do not count.
    await t.db.query(
      `insert into public.provider_calls (model_id, started_at, duration_ms, outcome, recorded_at)
       select $1, now() - interval '10 minutes', case when g <= 30 then 4000 else 20000 end, 'ok', now() - interval '10 minutes'
         from generate_series(1, 40) g
       union all select $1, now() - interval '1 hour', 90000, 'ok', now() - interval '1 hour'
       union all select $2, now() - interval '10 minutes', 60000, 'ok', now() - interval '10 minutes' from generate_series(1, 50)`,
      [FLASH, PRO],
    );
    await query(t.db, 'service', 'select public.rollup_metrics()');
    const rolled = (await position('alice', mine.id))!;
    assert.equal(rolled.latency_calls, 40);
    assert.ok(rolled.latency_p50_ms! > 3500 && rolled.latency_p50_ms! < 4500, `p50 ${rolled.latency_p50_ms}`);

    // A quiet model: fewer than 20 rolled-up calls, so the calls not rolled up yet count too.
    await t.db.query(`delete from public.metrics_provider_minute`);
    await t.db.query(
      `insert into public.provider_calls (model_id, started_at, duration_ms, outcome, recorded_at)
       select $1, now(), 1000, 'ok', now() from generate_series(1, 5)`,
      [FLASH],
    );
    const tail = (await position('alice', mine.id))!;
    assert.equal(tail.latency_calls, 5);
    assert.ok(tail.latency_p50_ms! > 800 && tail.latency_p50_ms! <= 1000, `p50 ${tail.latency_p50_ms}`);
  });

  test('reports a paused model', async () => {
    const mine = await createJob(t.db, 'alice');
    await t.db.query(`update public.models set paused = true where id = $1`, [FLASH]);
    assert.equal((await position('alice', mine.id))!.model_paused, true);
  });

  test('only the owner and staff get an answer; another user gets the same null as for no job; anon is refused', async () => {
    const mine = await createJob(t.db, 'alice');
    assert.equal((await position('alice', mine.id))!.job_id, mine.id);
    assert.equal((await position('support', mine.id))!.job_id, mine.id);
    assert.equal((await position('admin', mine.id))!.job_id, mine.id);
    assert.equal(await position('bob', mine.id), null);
    assert.equal(await position('bob', '00000000-0000-4000-8000-000000000000'), null);
    await rejects(position('anon', mine.id), '42501', /permission denied for function job_queue_position/);
    await rejects(position('service', mine.id), '42501', /permission denied for function job_queue_position/);
  });
});

describe('the queue signal', () => {
  async function signals(since: Date) {
    const { rows } = await t.db.query(
      `select topic, event, private, payload from realtime.messages where topic like 'queue:%' and inserted_at >= $1 order by inserted_at, topic`,
      [since],
    );
    return rows;
  }
  const now = async () => (await t.db.query<{ now: Date }>('select clock_timestamp() as now')).rows[0]!.now;

  test('a claim sends one message per model whose jobs still wait, carrying the model id only', async () => {
    await createJob(t.db, 'alice');
    await createJob(t.db, 'alice', PRO);
    await createJob(t.db, 'bob');
    await createJob(t.db, 'bob', PRO);
    const since = await now();
    assert.equal((await claim(t.db, 2)).length, 2);
    assert.deepEqual(await signals(since), [
      { topic: `queue:${FLASH}`, event: 'queue_moved', private: true, payload: { model_id: FLASH } },
      { topic: `queue:${PRO}`, event: 'queue_moved', private: true, payload: { model_id: PRO } },
    ]);
    const drained = await now();
    assert.equal((await claim(t.db, 10)).length, 2);
    assert.deepEqual(await signals(drained), [], 'the queue is empty: nobody waits, nobody moves');
  });

  test('a cancel of a queued job signals while others wait; heartbeats, completions and new jobs do not', async () => {
    const since = await now();
    await createJob(t.db, 'alice');
    const other = await createJob(t.db, 'alice');
    const last = await createJob(t.db, 'alice');
    assert.deepEqual(await signals(since), [], 'a new job joins at the back and moves nobody');
    const [running] = await claim(t.db);
    const afterClaim = await now();
    await query(t.db, 'service', 'select public.heartbeat_job($1, $2, 50, $3)', [running!.id, running!.lease_token, 'generating']);
    await query(t.db, 'service', 'select public.complete_job($1, $2)', [running!.id, running!.lease_token]);
    assert.deepEqual(await signals(afterClaim), []);
    await query(t.db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'not needed')`, [other.id]);
    assert.deepEqual((await signals(afterClaim)).map((s) => s.topic), [`queue:${FLASH}`]);
    const afterCancel = await now();
    await query(t.db, 'alice', `select * from public.cancel_jobs(array[$1]::uuid[], 'not needed')`, [last.id]);
    assert.deepEqual(await signals(afterCancel), [], 'the last waiting job left: nobody to move');
  });

  test("a claim's check for waiting jobs reads the front of the queue, never the whole of it, whatever plan stale statistics lead the planner to", async () => {
    // Statistics taken while the queue was empty, then 2,000 waiting jobs, and the planner kept
    // from nested loops and merge joins: a check written as EXISTS over the claimed models becomes
    // a hash join over every queued job, and one ordered by age sorts them all, the plans stale
    // statistics chose beside a long history (docs/benchmarks.md, Growth).
    await t.db.query('analyze public.jobs');
    await bobsQueuedJobs(2000);
    const since = await now();
    const { claimed, plans } = await claimExplained(1, 'queue_moved', ['enable_nestloop = off', 'enable_mergejoin = off']);
    assert.equal(claimed.length, 1);
    const signal = plans.find((p) => p['Query Text'].includes('insert into realtime.messages'));
    assert.ok(signal, `the queue signal's plan (${plans.length} plans seen)`);
    const scans = jobScans(signal.Plan);
    assert.ok(scans.length > 0, JSON.stringify(signal.Plan));
    for (const scan of scans) assertReadsAtMost(scan, 1, signal.Plan);
    assert.deepEqual((await signals(since)).map((m) => m.topic), [`queue:${FLASH}`]);
  });

  test("a claim's check for waiting jobs walks the model's queue index, not the table, when the statistics see a long queue", async () => {
    // With many waiting jobs in the statistics, LIMIT 1 without an order made a sequential scan
    // look free, and it read the table from its start, where the jobs claimed since the last
    // vacuum sit (the queue benchmark one at a time: 434 pages a claim midway through a burst).
    await oneModelBacklog(4000);
    const { claimed, plans } = await claimExplained(1, 'queue_moved');
    assert.equal(claimed.length, 1);
    const signal = plans.find((p) => p['Query Text'].includes('insert into realtime.messages'));
    assert.ok(signal, `the queue signal's plan (${plans.length} plans seen)`);
    const probes = jobScans(signal.Plan).filter((scan) => scan['Index Name'] !== 'jobs_pkey');
    assert.ok(probes.length > 0, JSON.stringify(signal.Plan));
    for (const scan of probes) assert.equal(scan['Index Name'], 'jobs_queue_by_model_idx', JSON.stringify(signal.Plan));
  });

  test("a claim reads the front of each model's queue, never the whole of it, whatever plan stale statistics lead the planner to", async () => {
    // Statistics taken beside a finished history with a short queue (100 jobs of each model),
    // then 4,000 waiting: one scan over both models' queued jobs in claim order was planned as a
    // read and a sort of all of them, the plan the growth benchmark's history side ran
    // (docs/benchmarks.md, Growth).
    await finishedHistory(50000);
    await bobsQueuedJobs(100);
    await bobsQueuedJobs(100, `now() - interval '1 hour'`, PRO);
    await t.db.query('analyze public.jobs');
    await bobsQueuedJobs(3000, `now() - interval '30 minutes'`);
    await bobsQueuedJobs(1000, `now() - interval '30 minutes'`, PRO);
    const { rows: front } = await t.db.query<{ id: string }>(
      `select id from public.jobs where status = 'queued' order by priority desc, run_at, id limit 10`,
    );
    const { claimed, plans } = await claimExplained(10, 'ready_pick');
    assert.equal(plans.length, 1, 'the claim statement\'s plan');
    const scans = jobScans(plans[0]!.Plan);
    assert.ok(scans.length > 0, JSON.stringify(plans[0]!.Plan));
    for (const scan of scans) assertReadsAtMost(scan, 10, plans[0]!.Plan);
    assert.deepEqual(claimed.map((j) => j.id), front.map((j) => j.id), 'the front ten of the queue, both models together');
  });

  test("a claim reads nothing of another model's queue for a ready model with none waiting", async () => {
    // A backlog of one model, enqueued in one statement, with statistics that see it, and another
    // model ready with nothing waiting: an index in claim order without the model costs the
    // planner the same as the model's own, and scanning it for the idle model walked the whole
    // backlog, filtering every entry out.
    await oneModelBacklog(4000);
    const { claimed, plans } = await claimExplained(1, 'ready_pick');
    assert.equal(claimed.length, 1);
    const scans = jobScans(plans[0]!.Plan);
    assert.ok(scans.length > 0, JSON.stringify(plans[0]!.Plan));
    for (const scan of scans) assertReadsAtMost(scan, 1, plans[0]!.Plan);
  });

  test('any signed-in user may join a queue topic; anon may not; nobody may send on it', async () => {
    const access = async (role: string, claims: object) =>
      (
        await t.db.query('select * from realtime.local_topic_access($1, $2, $3, true)', [role, JSON.stringify(claims), `queue:${FLASH}`])
      ).rows[0];
    const alice = await access('authenticated', { sub: DEMO_USERS.alice.id, role: 'authenticated', app_metadata: {} });
    assert.equal(alice.broadcast_read, true);
    assert.equal(alice.broadcast_write, false);
    const anon = await access('anon', { role: 'anon' });
    assert.equal(anon.broadcast_read, false);
    assert.equal(anon.broadcast_write, false);
  });
});
