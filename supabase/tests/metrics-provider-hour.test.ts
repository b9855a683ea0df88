import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FLASH, openTestDb, PRO, query, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * metrics_provider_hour: the hourly sums job_health reads for wide windows. They must equal the
 * minute rollups they summarise, follow the watermark as it advances (a half-rolled-up hour is
 * completed later), and job_health must give the numbers it gave from minutes alone.
 */
let t: TestDb;

type ModelHealth = { model_id: string; calls: number; ok: number; server_error: number; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null; latency: { calls: number[]; p95_ms: (number | null)[] } };
type Health = { window: { from: string }; series: { bucket: string[] }; models: ModelHealth[] };

before(async () => {
  t = await openTestDb();
  // 1,200 calls over the last five hours (none in the last two minutes, so the rollup covers
  // them all): both models, log-spread latencies, one call in ten a 503.
  await t.db.query(
    `insert into public.provider_calls (model_id, started_at, duration_ms, http_status, outcome, cost_usd, recorded_at)
     select case when g % 3 = 0 then $2 else $1 end, r - make_interval(secs => d / 1000.0), d,
            case when g % 10 = 0 then 503 else 200 end, case when g % 10 = 0 then 'server_error' else 'ok' end,
            0.039, r
       from generate_series(1, 1200) g
      cross join lateral (select now() - interval '2 minutes' - interval '5 hours' * g / 1200.0 as r,
                                 (200 + (g * 7919) % 20000 * (1 + g % 5))::integer as d) x`,
    [FLASH, PRO],
  );
  await query(t.db, 'service', 'select public.rollup_metrics()');
});
after(async () => {
  await t?.close();
});

/** The reference: merge the minute rows of a model (and optionally one hour) and take percentiles. */
async function fromMinutes(model: string, from: string, hour?: string) {
  const { rows } = await t.db.query<{ calls: number; p50: number | null; p95: number | null; p99: number | null }>(
    `with m as (
       select * from public.metrics_provider_minute
        where model_id = $1 and minute >= $2::timestamptz
          and ($3::timestamptz is null or date_bin('1 hour', minute, timestamptz 'epoch') = $3::timestamptz)
     ), h as (
       select coalesce(sum(calls), 0)::integer as calls,
              array(select sum(m.latency_hist[i])::bigint from generate_series(1, 40) i cross join m group by i order by i) as hist
         from m
     )
     select calls, private.histogram_percentile(hist, 0.5) as p50, private.histogram_percentile(hist, 0.95) as p95,
            private.histogram_percentile(hist, 0.99) as p99 from h`,
    [model, from, hour ?? null],
  );
  return rows[0]!;
}

async function health(window: string, bucket: string): Promise<Health> {
  const [row] = await query<{ h: Health }>(t.db, 'admin', 'select public.job_health($1::interval, $2::interval) as h', [window, bucket]);
  return row!.h;
}

describe('metrics_provider_hour', () => {
  test('each hour row is the sum of its minute rows', async () => {
    const { rows } = await t.db.query<{ hours: number; differing: number }>(
      `with m as (
         select date_bin('1 hour', minute, timestamptz 'epoch') as hour, model_id, sum(calls)::bigint as calls,
                sum(ok)::bigint as ok, sum(server_error)::bigint as server_error, sum(cost_usd) as cost_usd,
                array(select sum(x.latency_hist[i])::bigint from public.metrics_provider_minute x, generate_series(1, 40) i
                       where date_bin('1 hour', x.minute, timestamptz 'epoch') = date_bin('1 hour', mm.minute, timestamptz 'epoch')
                         and x.model_id = mm.model_id group by i order by i) as hist
           from public.metrics_provider_minute mm group by 1, 2, hist
       )
       select count(*)::integer as hours,
              count(*) filter (where h.hour is null or (h.calls, h.ok, h.server_error, h.cost_usd, h.latency_hist)
                                 is distinct from (m.calls, m.ok, m.server_error, m.cost_usd, m.hist))::integer as differing
         from m left join public.metrics_provider_hour h using (hour, model_id)`,
    );
    assert.ok(rows[0]!.hours >= 10, `two models over five hours or more: ${rows[0]!.hours}`);
    assert.equal(rows[0]!.differing, 0);
    const [{ n }] = (await t.db.query<{ n: number }>('select count(*)::integer as n from public.metrics_provider_hour')).rows as [{ n: number }];
    assert.equal(n, rows[0]!.hours, 'no hour row without minutes');
  });

  test('each hour row keeps the percentiles of its own histogram', async () => {
    const { rows } = await t.db.query<{ hours: number; with_calls: number; differing: number }>(
      `select count(*)::integer as hours, count(*) filter (where calls > 0)::integer as with_calls,
              count(*) filter (where (p50_ms, p95_ms, p99_ms) is distinct from
                (private.histogram_percentile(latency_hist, 0.5), private.histogram_percentile(latency_hist, 0.95),
                 private.histogram_percentile(latency_hist, 0.99)))::integer as differing
         from public.metrics_provider_hour`,
    );
    assert.ok(rows[0]!.with_calls >= 10, `hours with calls: ${rows[0]!.with_calls}`);
    assert.equal(rows[0]!.differing, 0);
  });

  test('an hour row without stored percentiles gives the same document', async () => {
    const client = await t.db.connect();
    try {
      // One transaction: now() and so the window are the same for both reads.
      await client.query('begin');
      const read = async () =>
        (await client.query<{ h: string }>(`select public.job_health('24 hours', '1 hour')::text as h`)).rows[0]!.h;
      const stored = await read();
      const changed = await client.query('update public.metrics_provider_hour set p50_ms = null, p95_ms = null, p99_ms = null where calls > 0');
      assert.ok(changed.rowCount! >= 10);
      assert.equal(await read(), stored);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  test('an hour half rolled up is completed when the watermark moves on', async () => {
    const client = await t.db.connect();
    try {
      await client.query('begin');
      const hour = `date_trunc('hour', now()) + interval '3 hours'`;
      await client.query(`update public.metrics_rollup_state set rolled_until = ${hour}`);
      await client.query(
        `insert into public.metrics_provider_minute (minute, model_id, calls, ok, latency_hist)
         values (${hour}, $1, 5, 5, array_fill(0, array[40])), (${hour} + interval '10 minutes', $1, 3, 3, array_fill(0, array[40]))`,
        [FLASH],
      );
      await client.query(`update public.metrics_rollup_state set rolled_until = ${hour} + interval '20 minutes'`);
      const first = await client.query(`select calls from public.metrics_provider_hour where hour = ${hour} and model_id = $1`, [FLASH]);
      assert.equal(Number(first.rows[0].calls), 8);
      await client.query(
        `insert into public.metrics_provider_minute (minute, model_id, calls, ok, latency_hist)
         values (${hour} + interval '40 minutes', $1, 4, 2, array_fill(0, array[40]))`,
        [FLASH],
      );
      await client.query(`update public.metrics_rollup_state set rolled_until = ${hour} + interval '1 hour'`);
      const second = await client.query(`select calls, ok from public.metrics_provider_hour where hour = ${hour} and model_id = $1`, [FLASH]);
      assert.deepEqual([Number(second.rows[0].calls), Number(second.rows[0].ok)], [12, 10]);
      // A watermark that does not move recomputes nothing.
      await client.query(`delete from public.metrics_provider_hour where hour = ${hour}`);
      await client.query(`update public.metrics_rollup_state set rolled_until = rolled_until`);
      assert.equal((await client.query(`select 1 from public.metrics_provider_hour where hour = ${hour}`)).rowCount, 0);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  for (const bucket of ['1 minute', '15 minutes', '1 hour']) {
    test(`job_health over 24 hours in ${bucket} buckets: window totals and percentiles as merged from minutes`, async () => {
      const doc = await health('24 hours', bucket);
      for (const model of [FLASH, PRO]) {
        const m = doc.models.find((x) => x.model_id === model)!;
        const want = await fromMinutes(model, doc.window.from);
        assert.ok(want.calls > 300, `${model} has calls`);
        assert.deepEqual([m.calls, m.p50_ms, m.p95_ms, m.p99_ms], [want.calls, want.p50, want.p95, want.p99], model);
        assert.equal(m.latency.calls.reduce((a, b) => a + b, 0), want.calls, `${model}: the buckets add up`);
      }
    });
  }

  test('hourly buckets carry each hour\'s merged percentiles', async () => {
    const doc = await health('24 hours', '1 hour');
    const flash = doc.models.find((x) => x.model_id === FLASH)!;
    let checked = 0;
    for (const [i, bucket] of doc.series.bucket.entries()) {
      if (flash.latency.calls[i] === 0) continue;
      const want = await fromMinutes(FLASH, '-infinity', bucket);
      assert.deepEqual([flash.latency.calls[i], flash.latency.p95_ms[i]], [want.calls, want.p95], bucket);
      checked++;
    }
    assert.ok(checked >= 5, `hours with calls: ${checked}`);
  });

  // Last: it removes minute rows.
  test('whole rolled-up hours are read from the hourly rows, not from their minutes', async () => {
    const before = (await health('24 hours', '1 minute')).models.find((x) => x.model_id === FLASH)!;
    const gone = await t.db.query(
      `delete from public.metrics_provider_minute
        where model_id = $1 and date_bin('1 hour', minute, timestamptz 'epoch') = date_trunc('hour', now()) - interval '3 hours'`,
      [FLASH],
    );
    assert.ok(gone.rowCount! > 10);
    const after = (await health('24 hours', '1 minute')).models.find((x) => x.model_id === FLASH)!;
    // The window total still counts the hour; the per-minute buckets, drawn from minutes, do not.
    assert.equal(after.calls, before.calls);
    assert.ok(after.latency.calls.reduce((a, b) => a + b, 0) < before.calls);
  });
});
