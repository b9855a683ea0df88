import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * private.histogram_percentile: the quantile of a 40-bin latency histogram, linear inside its
 * bin. The loop that replaced the set-based version must answer exactly as that version did,
 * which this test keeps as the reference.
 */
let t: TestDb;

// That set-based version, as a temporary function.
const REFERENCE = `
create function pg_temp.reference_percentile(p_hist bigint[], p_q double precision) returns double precision
language sql immutable as $$
  with b as (
    select i, c, sum(c) over (order by i) as cum, sum(c) over () as total
      from unnest(p_hist) with ordinality as t(c, i)
  )
  select round((lo + (hi - lo) * (p_q * total - (cum - c)) / c)::numeric, 1)::double precision
    from (select *, case when i = 1 then 0 else 25 * power(1.25, i - 2) end as lo,
                    25 * power(1.25, i - 1) as hi from b) x
   where c > 0 and cum >= p_q * total
   order by i
   limit 1
$$`;

before(async () => {
  t = await openTestDb(1);
});
after(async () => {
  await t?.close();
});

const percentile = async (hist: (number | null)[] | null, q: number) =>
  (await t.db.query<{ p: number | null }>('select private.histogram_percentile($1::bigint[], $2) as p', [hist, q])).rows[0]!.p;

describe('histogram_percentile', () => {
  test('interpolates inside the bin where the quantile falls', async () => {
    // Ten calls in bin 2, [25, 31.25) ms: the median is halfway, 28.125 rounded to 28.1.
    const hist = Array(40).fill(0);
    hist[1] = 10;
    assert.equal(await percentile(hist, 0.5), 28.1);
    assert.equal(await percentile(hist, 1), 31.3);
    // Bin 1 starts at 0 ms.
    assert.equal(await percentile([4, ...Array(39).fill(0)], 0.5), 12.5);
  });

  test('skips empty bins and reads the tail for high quantiles', async () => {
    const hist = Array(40).fill(0);
    hist[9] = 99; // bin 10, [149.0, 186.3) ms
    hist[39] = 1; // the last bin: the 90 s outlier
    // 50 of 99 calls into the bin: 149.0 + 37.25 * 50 / 99.
    assert.equal(await percentile(hist, 0.5), 167.8);
    assert.ok((await percentile(hist, 0.995))! > 100_000);
  });

  test('no calls, no answer: null, empty, all-zero and null-only histograms', async () => {
    assert.equal(await percentile(null, 0.5), null);
    assert.equal(await percentile([], 0.5), null);
    assert.equal(await percentile(Array(40).fill(0), 0.5), null);
    assert.equal(await percentile([null, null, 3, null], 0.5), await (async () => {
      const hist = Array(40).fill(0);
      hist[2] = 3;
      return percentile(hist, 0.5);
    })());
  });

  test('answers exactly as the set-based original on 2,000 random histograms and five quantiles', async () => {
    const client = await t.db.connect();
    try {
      await client.query(REFERENCE);
      // Skewed counts with many empty bins, as real latency histograms are; a few with nulls.
      const { rows } = await client.query<{ n: number; differing: number; answered: number }>(`
        with hs as (
          select g, array(select case when g % 97 = 0 and b = 7 then null
                                      else (random() * random() * case when random() < 0.4 then 0 else 60 end)::bigint end
                            from generate_series(1, 40) b where g > 0) as h
            from generate_series(1, 2000) g
        )
        select count(*)::integer as n,
               count(*) filter (where private.histogram_percentile(h, q) is distinct from pg_temp.reference_percentile(h, q))::integer as differing,
               count(private.histogram_percentile(h, q))::integer as answered
          from hs, unnest(array[0, 0.5, 0.95, 0.99, 1]::double precision[]) q`);
      assert.equal(rows[0]!.n, 10_000);
      assert.equal(rows[0]!.differing, 0);
      assert.ok(rows[0]!.answered > 9_000, 'most random histograms have calls');
    } finally {
      client.release();
    }
  });
});

describe('histogram_percentiles', () => {
  const percentiles = async (hist: (number | null)[] | null, qs: number[]) =>
    (await t.db.query<{ p: (number | null)[] | null }>('select private.histogram_percentiles($1::bigint[], $2::double precision[]) as p', [hist, qs])).rows[0]!.p;

  test('answers several quantiles in one walk, also when one bin holds several of them', async () => {
    const hist = Array(40).fill(0);
    hist[9] = 99; // bin 10 holds the median, p95 and p99
    hist[39] = 1;
    const qs = [0.5, 0.95, 0.99, 0.995];
    assert.deepEqual(await percentiles(hist, qs), await Promise.all(qs.map((q) => percentile(hist, q))));
    assert.deepEqual(await percentiles(Array(40).fill(0), [0.5, 0.95]), [null, null]);
    assert.equal(await percentiles(null, [0.5]), null);
  });

  test('matches one call per quantile on 2,000 random histograms', async () => {
    const { rows } = await t.db.query<{ n: number; differing: number }>(`
      with hs as (
        select array(select (random() * random() * case when random() < 0.4 then 0 else 60 end)::bigint
                       from generate_series(1, 40) b where g > 0) as h
          from generate_series(1, 2000) g
      )
      select count(*)::integer as n,
             count(*) filter (where private.histogram_percentiles(h, '{0, 0.5, 0.95, 0.99, 1}')
                              is distinct from array[private.histogram_percentile(h, 0), private.histogram_percentile(h, 0.5),
                                                     private.histogram_percentile(h, 0.95), private.histogram_percentile(h, 0.99),
                                                     private.histogram_percentile(h, 1)])::integer as differing
        from hs`);
    assert.equal(rows[0]!.n, 2000);
    assert.equal(rows[0]!.differing, 0);
  });
});
