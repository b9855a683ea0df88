import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { HealthDocument } from '../../lib/metrics/health-schema.ts';
import { addHistoryOnce } from './history.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/database/cluster.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';

/**
 * The day of demo history `npm run dev` adds to a fresh local database: realistic enough for the
 * charts, and every invariant the functions keep holds for it too.
 */
let database: TestDatabase;
let db: pg.Pool;
let added: number | null;
const one = async <T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T> =>
  (await db.query<T>(sql, params)).rows[0] as T;
const CUSTOMER_JOBS = `select j.* from public.jobs j join auth.users u on u.id = j.user_id where u.email like 'customer-%@example.com'`;

before(async () => {
  database = await createTestDatabase();
  db = new pg.Pool({ connectionString: database.url, max: 2 });
  added = await addHistoryOnce(database.url);
});
after(async () => {
  await db.end();
  await database.drop();
});

describe('the demo history', () => {
  test('adds about a day of jobs once; a second start adds nothing', async () => {
    assert.ok(added !== null && added > 1500 && added < 5000, `jobs added: ${added}`);
    assert.equal(await addHistoryOnce(database.url), null);
    assert.equal((await one(`select count(*)::integer as n from (${CUSTOMER_JOBS}) j`)).n, added);
    const span = await one(`select extract(epoch from now() - min(created_at)) / 3600 as oldest_h, extract(epoch from now() - max(finished_at)) as newest_s from (${CUSTOMER_JOBS}) j`);
    assert.ok(span.oldest_h > 23 && span.oldest_h < 24.1, `oldest job ${span.oldest_h} h ago`);
    assert.ok(span.newest_s > 0, 'nothing finishes in the future');
  });

  test('belongs to 40 generated customers without a password; the demo accounts are as seeded', async () => {
    const customers = await one(`select count(*)::integer as n, count(encrypted_password)::integer as with_password from auth.users where email like 'customer-%@example.com'`);
    assert.deepEqual(customers, { n: 40, with_password: 0 });
    const demo = await db.query(
      `select u.email, a.balance::integer, (select count(*)::integer from public.jobs j where j.user_id = u.id) as jobs
         from auth.users u left join public.credit_accounts a on a.user_id = u.id where u.id = any($1) order by u.email`,
      [[DEMO_USERS.alice.id, DEMO_USERS.bob.id]],
    );
    assert.deepEqual(demo.rows, [
      { email: 'alice@example.com', balance: 100, jobs: 0 },
      { email: 'bob@example.com', balance: 20, jobs: 0 },
    ]);
  });

  test('every job is finished, on both models, with about 3% failed and each failure or cancel refunded once', async () => {
    const s = await one(
      `select count(*) filter (where status not in ('succeeded', 'failed', 'cancelled'))::integer as unfinished,
              count(*) filter (where status = 'failed')::float / count(*) as failed_share,
              count(*) filter (where status = 'cancelled')::integer as cancelled,
              count(distinct model_id)::integer as models,
              count(*) filter (where lease_token is not null)::integer as leases
         from (${CUSTOMER_JOBS}) j`,
    );
    assert.equal(s.unfinished, 0);
    assert.equal(s.leases, 0);
    assert.equal(s.models, 2);
    assert.ok(s.failed_share > 0.01 && s.failed_share < 0.06, `failed share ${s.failed_share}`);
    assert.ok(s.cancelled > 0);
    const refunds = await one(
      `select count(*) filter (where j.status in ('failed', 'cancelled') and r.n = 1)::integer as refunded,
              count(*) filter (where j.status in ('failed', 'cancelled'))::integer as ended_badly,
              count(*) filter (where j.status = 'succeeded' and r.n > 0)::integer as refunded_successes,
              count(*) filter (where c.n <> 1)::integer as not_charged_once
         from (${CUSTOMER_JOBS}) j
         cross join lateral (select count(*) as n from public.credit_ledger l where l.job_id = j.id and l.reason = 'job_refund') r
         cross join lateral (select count(*) as n from public.credit_ledger l where l.job_id = j.id and l.reason = 'job_charge' and l.delta = -j.credits_cost) c`,
    );
    assert.equal(refunds.refunded, refunds.ended_badly);
    assert.equal(refunds.refunded_successes, 0);
    assert.equal(refunds.not_charged_once, 0);
  });

  test('every balance is the sum of its ledger', async () => {
    const drift = await one(
      `select count(*)::integer as n from public.credit_accounts a
        where a.balance <> (select coalesce(sum(l.delta), 0) from public.credit_ledger l where l.user_id = a.user_id)`,
    );
    assert.equal(drift.n, 0);
  });

  test('each job has its timeline: created queued, only legal transitions, ending in its status', async () => {
    const bad = await one(
      `with e as (
         select ev.*, j.status as job_status,
                row_number() over w as i, count(*) over (partition by ev.job_id) as total,
                lag(ev.to_status) over w as previous
           from public.job_events ev join (${CUSTOMER_JOBS}) j on j.id = ev.job_id
         window w as (partition by ev.job_id order by ev.at, ev.id))
       select count(*) filter (where i = 1 and (from_status is not null or to_status <> 'queued'))::integer as bad_start,
              count(*) filter (where from_status is not null and (from_status, to_status) not in (
                ('queued', 'running'), ('running', 'succeeded'), ('running', 'queued'), ('running', 'failed'), ('queued', 'cancelled')))::integer as illegal,
              count(*) filter (where i = total and to_status <> job_status)::integer as wrong_end,
              count(*) filter (where i > 1 and from_status <> previous)::integer as broken_chain
         from e`,
    );
    assert.deepEqual(bad, { bad_start: 0, illegal: 0, wrong_end: 0, broken_chain: 0 });
  });

  test('provider calls have a realistic latency with a tail, and some 429s and timeouts', async () => {
    const calls = await db.query(
      `select model_id, percentile_cont(0.5) within group (order by duration_ms) filter (where outcome = 'ok') as p50,
              percentile_cont(0.99) within group (order by duration_ms) filter (where outcome = 'ok') as p99,
              count(*) filter (where outcome = 'rate_limited')::integer as rate_limited,
              count(*) filter (where outcome = 'timeout')::integer as timeouts,
              count(*) filter (where outcome <> 'ok')::float / count(*) as error_share
         from public.provider_calls group by model_id order by model_id`,
    );
    assert.equal(calls.rows.length, 2);
    const [flash, pro] = calls.rows;
    assert.ok(flash.p50 > 4000 && flash.p50 < 8000, `flash p50 ${flash.p50}`);
    assert.ok(pro.p50 > 10000 && pro.p50 < 18000, `pro p50 ${pro.p50}`);
    assert.ok(flash.p99 > 2 * flash.p50, `a tail: p99 ${flash.p99}`);
    assert.ok(flash.rate_limited > 0 && flash.timeouts > 0);
    assert.ok(flash.error_share > 0.03 && flash.error_share < 0.12, `error share ${flash.error_share}`);
  });

  test('is rolled up, so System Health shows the day', async () => {
    await db.query('select public.rollup_metrics()');
    const health = (await one<{ h: HealthDocument }>(`select public.job_health(interval '24 hours', interval '1 hour') as h`)).h;
    assert.ok(health.totals.created >= added! - 5, `created ${health.totals.created} of ${added}`);
    assert.ok(health.totals.refunds > 0);
    assert.ok(health.totals.failure_rate !== null && health.totals.failure_rate > 0.01 && health.totals.failure_rate < 0.06);
    for (const model of health.models) assert.ok(model.p50_ms !== null && model.p50_ms > 1000, `${model.model_id} p50 ${model.p50_ms}`);
    const depth = await one(`select max(queued_depth)::integer as queued, min(queued_depth)::integer as lowest from public.metrics_job_minute`);
    assert.ok(depth.queued > 0, 'jobs were seen waiting');
    assert.ok(depth.lowest >= 0, 'the depth derived from the events never goes negative');
  });

  test('agrees with the default alert rules: a fresh start opens no incident, and no hour of the day spends past the spend rule', async () => {
    const evaluated = await one<{ r: { opened: number } }>('select public.evaluate_alerts() as r');
    const open = await db.query(`select rule_id, summary from public.alert_incidents where status = 'open'`);
    assert.deepEqual(open.rows, [], 'no open incident');
    assert.equal(evaluated.r.opened, 0);
    // Whatever the hour the database is created at: the busiest hour of the day, as the rule sums it.
    const spend = await one<{ threshold: number; busiest: number }>(
      `select r.threshold::float as threshold,
              (select max(w.usd) from (
                 select (select coalesce(sum(c.cost_usd), 0) from public.provider_calls c
                          where c.recorded_at > m - make_interval(mins => r.window_minutes) and c.recorded_at <= m)::float as usd
                   from generate_series(now() - interval '24 hours', now(), interval '5 minutes') m) w) as busiest
         from public.alert_rules r where r.id = 'spend_per_hour'`,
    );
    assert.ok(spend.busiest > 0 && spend.busiest < spend.threshold * 0.5, `busiest hour $${spend.busiest}, threshold $${spend.threshold}`);
  });
});
