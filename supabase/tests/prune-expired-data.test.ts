import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { createJob, FLASH, moveJobsBack, query, rejects, testDbForFile } from '../../testkit/database/fixtures.ts';

const t = testDbForFile(10);

/**
 * `n` finished jobs through the real functions (created, claimed, completed, one provider call
 * each), then moved `daysAgo` days into the past: timeline, calls, ledger and the job itself.
 * Returns their ids.
 */
async function finishedJobs(n: number, daysAgo: number, tag: string, { charged = false } = {}): Promise<string[]> {
  let ids: string[];
  if (charged) {
    // Through create_job, as alice: each job is charged on the ledger.
    ids = [];
    for (let i = 0; i < n; i++) ids.push((await createJob(t.db, 'alice')).id);
  } else {
    const { rows } = await t.db.query<{ id: string }>(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, $2, $3 || g, 3, 0, now() + interval '1 hour' from generate_series(1, $4::integer) g returning id`,
      [DEMO_USERS.alice.id, FLASH, tag, n],
    );
    ids = rows.map((r) => r.id);
  }
  for (let done = 0; done < n; ) {
    const { rows: claimed } = await t.db.query<{ id: string; lease_token: string; attempt: number }>(
      `select id, lease_token, attempt from public.claim_jobs('fixture', $1)`,
      [Math.min(500, n - done)],
    );
    assert.ok(claimed.length > 0, 'the fixture claims its own jobs');
    await t.db.query(
      `select public.complete_job(c.id, c.token), public.record_provider_call($4, now(), 800, 'ok', 200, c.id, c.attempt)
         from unnest($1::uuid[], $2::uuid[], $3::integer[]) c(id, token, attempt)`,
      [claimed.map((c) => c.id), claimed.map((c) => c.lease_token), claimed.map((c) => c.attempt), FLASH],
    );
    done += claimed.length;
  }
  await moveJobsBack(t.db, ids, daysAgo);
  return ids;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>(`select count(*) as n from (${sql}) x`, params);
  return Number(rows[0]!.n);
}

async function prune(batch = 5000, maxRows = 200_000): Promise<{ rows: number; kinds: Record<string, { rows?: number; skipped?: string }> }> {
  const [row] = await query<{ r: { rows: number; kinds: Record<string, { rows?: number; skipped?: string }> } }>(
    t.db,
    'service',
    'select public.prune_expired_data($1, $2) as r',
    [batch, maxRows],
  );
  return row!.r;
}

/** The kept records of every kind: none of them may ever change under a prune. */
async function keptCounts(): Promise<Record<string, number>> {
  return {
    jobs: await count('select 1 from public.jobs'),
    credit_ledger: await count('select 1 from public.credit_ledger'),
    audit_log: await count('select 1 from public.audit_log'),
    alert_incidents: await count('select 1 from public.alert_incidents'),
    storage_objects: await count('select 1 from storage.objects'),
  };
}

describe('pruning expired data', () => {
  test('each window removes exactly what is older than it and nothing newer', async () => {
    // Timelines and calls: either side of 21 days.
    const old = await finishedJobs(20, 22, 'old ');
    const recent = await finishedJobs(20, 20, 'recent ');
    // Rollups: minute rows either side of 42 days, hour rows either side of 400 days.
    await t.db.query(
      `insert into public.metrics_job_minute (minute, model_id, created)
       values (date_trunc('minute', now() - interval '43 days'), $1, 1), (date_trunc('minute', now() - interval '41 days'), $1, 1)`,
      [FLASH],
    );
    await t.db.query(
      `insert into public.metrics_provider_minute (minute, model_id, calls, latency_hist)
       values (date_trunc('minute', now() - interval '43 days'), $1, 1, array_fill(0, array[40])),
              (date_trunc('minute', now() - interval '41 days'), $1, 1, array_fill(0, array[40]))`,
      [FLASH],
    );
    for (const table of ['metrics_provider_hour', 'metrics_job_hour']) {
      const hist = table === 'metrics_provider_hour' ? ', latency_hist' : '';
      const histValue = table === 'metrics_provider_hour' ? ', array_fill(0, array[40])' : '';
      await t.db.query(
        `insert into public.${table} (hour, model_id, created_or_calls${hist})
         values (date_trunc('hour', now() - interval '401 days'), $1, 1${histValue}), (date_trunc('hour', now() - interval '399 days'), $1, 1${histValue})`
          .replace('created_or_calls', table === 'metrics_provider_hour' ? 'calls' : 'created'),
        [FLASH],
      );
    }
    // An incident 31 days old: its per-minute values go, its story (opened, note) stays; a
    // delivered and a failed message of that age go, a pending one (still being retried) stays.
    const { rows: incident } = await t.db.query<{ id: string }>(
      `insert into public.alert_incidents (rule_id, severity, title, summary, unit, threshold, opened_at)
       values ('failure_rate', 'critical', 'Job failure rate', 'prune test', 'percent', 10, now() - interval '31 days') returning id`,
    );
    const incidentId = incident[0]!.id;
    await t.db.query(
      `insert into public.alert_incident_events (incident_id, at, kind, value, actor_role, note) values
         ($1, now() - interval '31 days', 'opened', 30, 'evaluator', null),
         ($1, now() - interval '31 days', 'value', 31, 'evaluator', null),
         ($1, now() - interval '31 days', 'note', null, 'admin', 'looked at it'),
         ($1, now() - interval '29 days', 'value', 12, 'evaluator', null)`,
      [incidentId],
    );
    const [channel] = await query<{ id: string }>(t.db, 'admin', `select * from public.create_alert_channel('prune', 'slack', 'https://hooks.slack.com/services/T0/B0/x', 'prune test')`);
    await t.db.query(
      `insert into public.alert_deliveries (channel_id, event, status, payload, created_at) values
         ($1, 'test', 'delivered', '{}', now() - interval '31 days'),
         ($1, 'test', 'failed', '{}', now() - interval '31 days'),
         ($1, 'test', 'pending', '{}', now() - interval '31 days'),
         ($1, 'test', 'delivered', '{}', now() - interval '29 days')`,
      [channel!.id],
    );
    const kept = await keptCounts();
    const recentEvents = await count('select 1 from public.job_events where job_id = any($1)', [recent]);
    assert.equal(recentEvents, 60, 'created, running, succeeded for each recent job');

    const result = await prune(7);
    assert.equal(result.kinds.job_events!.rows, 60, 'three events for each of the 20 old jobs');
    assert.equal(result.kinds.provider_calls!.rows, 20);
    assert.equal(result.kinds.alert_values!.rows, 1);
    assert.equal(result.kinds.alert_deliveries!.rows, 2);
    assert.equal(result.kinds.metrics_minute!.rows, 2, 'one job and one provider minute row');
    assert.equal(result.kinds.metrics_hour!.rows, 2, 'one job and one provider hour row');
    assert.equal(result.kinds.cron_run_details!.rows, 0, 'no pg_cron here');

    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [old]), 0);
    assert.equal(await count('select 1 from public.provider_calls where job_id = any($1)', [old]), 0);
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [recent]), 60);
    assert.equal(await count('select 1 from public.provider_calls where job_id = any($1)', [recent]), 20);
    assert.equal(await count(`select 1 from public.metrics_job_minute where minute < now() - interval '42 days'`), 0);
    assert.equal(await count(`select 1 from public.metrics_job_minute where minute < now() - interval '40 days'`), 1);
    assert.equal(await count(`select 1 from public.metrics_provider_hour where hour < now() - interval '398 days'`), 1);
    assert.equal(await count(`select 1 from public.metrics_job_hour where hour < now() - interval '398 days'`), 1);
    const { rows: story } = await t.db.query<{ kind: string }>(
      'select kind from public.alert_incident_events where incident_id = $1 order by at, id',
      [incidentId],
    );
    assert.deepEqual(story.map((r) => r.kind), ['opened', 'note', 'value']);
    const { rows: deliveries } = await t.db.query<{ status: string }>(
      'select status from public.alert_deliveries where channel_id = $1 order by created_at, id',
      [channel!.id],
    );
    assert.deepEqual(deliveries.map((r) => r.status), ['pending', 'delivered']);
    // The old jobs themselves, their ledger rows and the audit log are all still there.
    assert.deepEqual(await keptCounts(), kept);
    assert.equal(await count('select 1 from public.jobs where id = any($1) and status = $2', [old, 'succeeded']), 20);

    // Each kind's pass is on its policy row.
    // (The result images' window is off by default, and a window that is off is passed over:
    // expire-result-images.test.ts.)
    const { rows: policies } = await t.db.query<{ kind: string; last_prune_rows: string; last_pruned_at: Date | null; last_prune_error: string | null }>(
      'select kind, last_prune_rows, last_pruned_at, last_prune_error from public.retention_policies where keep_days is not null order by kind',
    );
    for (const p of policies) {
      assert.ok(p.last_pruned_at, p.kind);
      assert.equal(p.last_prune_error, null, p.kind);
    }
    assert.equal(Number(policies.find((p) => p.kind === 'job_events')!.last_prune_rows), 60);

    // A second pass finds nothing more.
    assert.equal((await prune()).rows, 0);
  });

  test('small batches walk forward in time: rows sharing one time across batches, and rows a kind keeps between them, end as one large batch would', async () => {
    // 7 jobs' timelines at one instant (21 rows), more than any batch below holds, then 3 later.
    const tied = await finishedJobs(7, 30, 'tied ');
    const later = await finishedJobs(3, 25, 'later ');
    const client = await t.db.connect();
    try {
      await client.query('set session_replication_role = replica');
      await client.query(`update public.job_events set at = date_trunc('second', now()) - interval '30 days' where job_id = any($1)`, [tied]);
    } finally {
      await client.query('set session_replication_role = origin');
      client.release();
    }
    // Deliveries: a pending one (kept whatever its age) between finished ones, oldest first.
    const [channel] = await query<{ id: string }>(t.db, 'admin', `select * from public.create_alert_channel('walk', 'slack', 'https://hooks.slack.com/services/T0/B0/w', 'prune test')`);
    await t.db.query(
      `insert into public.alert_deliveries (channel_id, event, status, payload, created_at)
       select $1, 'test', case when g = 3 then 'pending' else 'delivered' end, '{}', now() - interval '60 days' + g * interval '1 minute'
         from generate_series(1, 6) g`,
      [channel!.id],
    );
    const result = await prune(4, 4000);
    assert.equal(result.kinds.job_events!.rows, 30, 'every row of the 10 jobs, in batches of 4');
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [[...tied, ...later]]), 0);
    assert.equal(result.kinds.alert_deliveries!.rows, 5);
    assert.deepEqual(
      (await t.db.query<{ status: string }>('select status from public.alert_deliveries where channel_id = $1', [channel!.id])).rows,
      [{ status: 'pending' }],
    );
  });

  test('accounting rows and the gallery are never pruned, however old', async () => {
    const ancient = await finishedJobs(5, 3000, 'ancient ', { charged: true });
    await query(t.db, 'support', `select public.grant_credits($1, 2, 'prune test')`, [DEMO_USERS.bob.id]);
    const client = await t.db.connect();
    try {
      await client.query('set session_replication_role = replica');
      await client.query(`update public.audit_log set at = at - interval '3000 days'`);
    } finally {
      await client.query('set session_replication_role = origin');
      client.release();
    }
    const before = await keptCounts();
    await prune();
    assert.deepEqual(await keptCounts(), before);
    assert.equal(await count('select 1 from public.jobs where id = any($1)', [ancient]), 5);
    assert.equal(await count(`select 1 from public.credit_ledger where job_id = any($1)`, [ancient]), 5, 'each job\'s charge');
    // Gone: their timeline and calls.
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [ancient]), 0);
  });

  test('history refuses a delete outside a prune, and a prune cannot delete what is inside its window', async () => {
    const [young] = await finishedJobs(1, 1, 'young ');
    await rejects(t.db.query('delete from public.job_events where job_id = $1', [young]), '42501', 'public.job_events is append-only: delete is not allowed');
    await rejects(t.db.query(`update public.job_events set detail = '{}' where job_id = $1`, [young]), '42501', 'public.job_events is append-only: update is not allowed');
    await rejects(t.db.query('truncate public.job_events'), '42501', 'public.job_events is append-only: truncate is not allowed');
    // A transaction that declares a cutoff may delete only rows older than it.
    const client = await t.db.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('jobhealth.prune_cutoff', (now() - interval '2 days')::text, true)`);
      await rejects(client.query('delete from public.job_events where job_id = $1', [young]), '42501', 'public.job_events is append-only: delete is not allowed');
      await client.query('rollback');
    } finally {
      client.release();
    }
    const { rows: incident } = await t.db.query<{ id: string }>(
      `insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold)
       values ('failure_rate', 'refuses', 'critical', 'Job failure rate', 'prune test', 'percent', 10) returning id`,
    );
    await t.db.query(`insert into public.alert_incident_events (incident_id, at, kind, actor_role) values ($1, now() - interval '900 days', 'opened', 'evaluator')`, [incident[0]!.id]);
    await prune();
    await rejects(t.db.query('delete from public.alert_incident_events where incident_id = $1', [incident[0]!.id]), '42501', 'public.alert_incident_events is append-only: delete is not allowed');
    assert.equal(await count('select 1 from public.alert_incident_events where incident_id = $1', [incident[0]!.id]), 1);
    assert.equal(await count('select 1 from public.job_events where job_id = $1', [young]), 3);
  });

  test('a shorter window applies at the next pass; only admins change it, with a reason, within bounds', async () => {
    const [week] = await finishedJobs(1, 8, 'week ');
    await prune();
    assert.equal(await count('select 1 from public.job_events where job_id = $1', [week]), 3, '8 days old: inside the 21-day window');

    await rejects(query(t.db, 'support', `select public.set_retention_window('job_events', 7, 'short')`), '42501', /requires the admin role/);
    await rejects(query(t.db, 'admin', `select public.set_retention_window('job_events', 3, 'too short')`), '22023',
      'Job timelines must be kept between 7 and 365 days (asked: 3 days)');
    await rejects(query(t.db, 'admin', `select public.set_retention_window('job_events', 5000, 'too long')`), '22023',
      'Job timelines must be kept between 7 and 365 days (asked: 5000 days)');
    await rejects(query(t.db, 'admin', `select public.set_retention_window('jobs', 7, 'not a kind')`), 'PT404', 'no retention policy "jobs"');
    await rejects(query(t.db, 'admin', `select public.set_retention_window('job_events', 7, '')`), '22023', /reason/);
    const unchanged = await t.db.query<{ keep_days: number }>(`select keep_days from public.retention_policies where kind = 'job_events'`);
    assert.equal(unchanged.rows[0]!.keep_days, 21, 'refused changes change nothing');

    const [after] = await query<{ keep_days: number }>(t.db, 'admin', `select * from public.set_retention_window('job_events', 7, 'disk is tight')`);
    assert.equal(after!.keep_days, 7);
    const { rows: audit } = await t.db.query(`select actor_role, reason, before, after, detail from public.audit_log where action = 'set_retention_window'`);
    assert.deepEqual(audit, [{ actor_role: 'admin', reason: 'disk is tight', before: { keep_days: 21 }, after: { keep_days: 7 }, detail: { kind: 'job_events' } }]);
    await prune();
    assert.equal(await count('select 1 from public.job_events where job_id = $1', [week]), 0);
    assert.equal(await count('select 1 from public.provider_calls where job_id = $1', [week]), 1, 'provider calls keep their own window');
    await query(t.db, 'admin', `select public.set_retention_window('job_events', 21, 'back to the default')`);
  });

  test('a pass that cannot have a table within its lock timeout skips it, and the others still run', async () => {
    await finishedJobs(3, 40, 'locked ');
    const holder = new pg.Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('begin');
      // SHARE conflicts with a delete's ROW EXCLUSIVE: what a CREATE INDEX would hold.
      await holder.query('lock table public.provider_calls in share mode');
      const result = await prune();
      assert.match(result.kinds.provider_calls!.skipped!, /lock timeout/);
      assert.equal(result.kinds.job_events!.rows, 9);
      const { rows } = await t.db.query(`select last_prune_error from public.retention_policies where kind = 'provider_calls'`);
      assert.match(rows[0].last_prune_error, /^skipped: .*lock timeout/);
      await holder.query('rollback');
    } finally {
      await holder.end();
    }
    const result = await prune();
    assert.equal(result.kinds.provider_calls!.rows, 3, 'the next pass takes what was left');
  });

  test('a prune racing claims and completions over real connections loses nothing and makes no claim wait', async () => {
    const oldJobs = await finishedJobs(2000, 45, 'race old ');
    const JOBS = 1500;
    const WORKERS = 6;
    const { rows: fresh } = await t.db.query<{ id: string }>(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
       select $1, $2, 'race new ' || g, 3, 0, now() + interval '1 hour' from generate_series(1, $3::integer) g returning id`,
      [DEMO_USERS.alice.id, FLASH, JOBS],
    );
    const ledgerBefore = await count('select 1 from public.credit_ledger');
    const connect = async () => {
      const c = new pg.Client({ connectionString: t.database.url });
      await c.connect();
      return c;
    };
    const workers = await Promise.all(Array.from({ length: WORKERS }, connect));
    const pruner = await connect();
    let draining = true;
    let passes = 0;
    let pruned = 0;
    try {
      const pruning = (async () => {
        // Small batches: many short deletes interleaved with the claims.
        while (draining) {
          const { rows } = await pruner.query<{ r: { rows: number } }>('select public.prune_expired_data(200, 200) as r');
          pruned += rows[0]!.r.rows;
          passes++;
        }
      })();
      await Promise.all(
        workers.map(async (client, w) => {
          for (;;) {
            const { rows } = await client.query<{ id: string; lease_token: string }>('select id, lease_token from public.claim_jobs($1, 10, 60)', [`race-${w}`]);
            if (rows.length === 0) return;
            for (const job of rows) {
              await client.query('select public.complete_job($1, $2)', [job.id, job.lease_token]);
              await client.query(`select public.record_provider_call($1, now(), 500, 'ok', 200, $2, 1)`, [FLASH, job.id]);
            }
          }
        }),
      );
      draining = false;
      await pruning;
    } finally {
      await Promise.all([...workers, pruner].map((c) => c.end()));
    }
    assert.ok(passes > 1, `the prune ran during the drain (${passes} passes)`);
    const ids = fresh.map((r) => r.id);
    assert.equal(await count(`select 1 from public.jobs where id = any($1) and status = 'succeeded'`, [ids]), JOBS);
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [ids]), JOBS * 3, 'every new event is there');
    assert.equal(await count('select 1 from public.provider_calls where job_id = any($1)', [ids]), JOBS);
    assert.equal(await count('select 1 from public.credit_ledger'), ledgerBefore);
    // Whatever the race left of the old history, the next pass removes.
    await prune();
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [oldJobs]), 0);
    assert.ok(pruned > 0);

    // While a prune's deletes are uncommitted, claims and completions go through: they never
    // wait on it (a wait would hang this test, not slow it).
    await finishedJobs(50, 45, 'open prune ');
    const open = await connect();
    try {
      await open.query('begin');
      const { rows } = await open.query<{ r: { rows: number } }>('select public.prune_expired_data() as r');
      assert.equal(rows[0]!.r.rows, 200, '150 events and 50 calls deleted, not yet committed');
      const { rows: job } = await t.db.query<{ id: string }>(
        `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at)
         values ($1, $2, 'during an open prune', 3, 0, now() + interval '1 hour') returning id`,
        [DEMO_USERS.alice.id, FLASH],
      );
      const [claimed] = (await t.db.query<{ id: string; lease_token: string }>(`select id, lease_token from public.claim_jobs('w', 1, 60)`)).rows;
      assert.equal(claimed!.id, job[0]!.id);
      await t.db.query('select public.complete_job($1, $2)', [claimed!.id, claimed!.lease_token]);
      await t.db.query(`select public.record_provider_call($1, now(), 500, 'ok', 200, $2, 1)`, [FLASH, claimed!.id]);
      await open.query('commit');
    } finally {
      await open.end();
    }
  });
});

describe('rollups outlive their raw rows', () => {
  test('System Health over 30 and 90 days shows the same history after the raw rows are pruned', async () => {
    // A fresh watermark over two months of history: rolled up once, then the raw rows go.
    const months = [await finishedJobs(30, 60, 'rollup 60d '), await finishedJobs(20, 20, 'rollup 20d '), await finishedJobs(10, 5, 'rollup 5d ')];
    await t.db.query('update public.metrics_rollup_state set rolled_until = null');
    await t.db.query('delete from public.metrics_job_minute');
    await t.db.query('delete from public.metrics_provider_minute');
    await t.db.query('delete from public.metrics_job_hour');
    await t.db.query('delete from public.metrics_provider_hour');
    await query(t.db, 'service', 'select public.rollup_metrics()');

    const health = async (window: string, bucket: string) =>
      (await query<{ h: { totals: Record<string, number>; series: { bucket: string[]; succeeded: number[] }; models: { model_id: string; calls: number }[] } }>(
        t.db, 'admin', 'select public.job_health($1::interval, $2::interval) as h', [window, bucket]))[0]!.h;
    const before90 = await health('90 days', '1 day');
    const before30 = await health('30 days', '6 hours');
    const total = (h: typeof before90) => h.totals.succeeded!;
    const flashCalls = (h: typeof before90) => h.models.find((m) => m.model_id === FLASH)!.calls;
    assert.ok(total(before90) >= 60, `the 90-day view counts every job of the three months (${total(before90)})`);
    assert.ok(flashCalls(before90) >= 60);
    assert.equal(before90.series.bucket.length, 91);
    assert.equal(before30.series.bucket.length, 121);

    const raw = await count('select 1 from public.job_events where job_id = any($1)', [months.flat()]);
    assert.equal(raw, 180);
    await prune();
    assert.equal(await count('select 1 from public.job_events where job_id = any($1)', [months[0]]), 0, 'the 60-day-old timeline is gone');
    assert.equal(await count(`select 1 from public.metrics_job_minute where minute < now() - interval '42 days'`), 0, 'and its minute rows');

    const after90 = await health('90 days', '1 day');
    const after30 = await health('30 days', '6 hours');
    assert.deepEqual(after90.totals, before90.totals);
    assert.deepEqual(after90.series.succeeded, before90.series.succeeded);
    assert.equal(flashCalls(after90), flashCalls(before90));
    assert.deepEqual(after30.totals, before30.totals);
  });
});

describe('retention_status', () => {
  test('support and admins see every table, its size, rows, oldest row and the windows', async () => {
    type Status = { policies: { kind: string; keep_days: number }[]; tables: { relation: string; kind: string; bytes: number; rows: number; oldest: string | null }[] };
    // A table past 128 pages reports the planner's estimate, not a count (a count on every
    // request would read the whole table); ANALYZE makes that estimate the table's own size.
    await t.db.query('analyze public.jobs');
    const [row] = await query<{ s: Status }>(t.db, 'support', 'select public.retention_status() as s');
    const status = row!.s;
    assert.deepEqual(status.policies.map((p) => p.kind), ['alert_deliveries', 'alert_values', 'cron_run_details', 'job_events', 'metrics_hour', 'metrics_minute', 'provider_calls', 'result_images']);
    const relations = status.tables.map((r) => r.relation);
    for (const name of ['public.jobs', 'public.credit_ledger', 'public.audit_log', 'storage.objects', 'public.job_events', 'public.provider_calls', 'public.metrics_job_hour', 'realtime.messages']) {
      assert.ok(relations.includes(name), name);
    }
    assert.ok(!relations.includes('cron.job_run_details'), 'no pg_cron here');
    const jobs = status.tables.find((r) => r.relation === 'public.jobs')!;
    assert.equal(jobs.kind, 'kept');
    assert.equal(jobs.rows, await count('select 1 from public.jobs'));
    assert.ok(jobs.bytes > 0);
    const { rows: oldest } = await t.db.query<{ at: Date }>('select min(at) as at from public.job_events');
    assert.equal(new Date(status.tables.find((r) => r.relation === 'public.job_events')!.oldest!).getTime(), oldest[0]!.at.getTime());
    await rejects(query(t.db, 'alice', 'select public.retention_status()'), '42501', /requires the support or admin role/);
  });
});
