import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bucketAt, isolatedPoints, layoutChart, textWidth, xTickIndices, yTickValues, type ChartSpec } from './chart-geometry.ts';
import { bucketLabel, zoneOffsetSeconds } from './time-axis.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const minutes = (n: number, from = T0) => Array.from({ length: n }, (_, i) => new Date(from + i * MINUTE).toISOString());

function spec(overrides: Partial<ChartSpec> = {}): ChartSpec {
  const buckets = overrides.buckets ?? minutes(4);
  return {
    kind: 'line',
    buckets,
    series: [{ key: 'a', name: 'A', color: '#000', values: [1, null, 3, 2] }],
    formatY: String,
    labels: buckets.map((b) => bucketLabel(b, 60, 'UTC')),
    bucketSeconds: 60,
    zoneOffsetSeconds: 0,
    ...overrides,
  };
}

describe('yTickValues', () => {
  test('start at zero and reach the top of the data with nice steps', () => {
    assert.deepEqual(yTickValues(7, true), [0, 2, 4, 6, 8]);
    assert.deepEqual(yTickValues(1, false), [0, 0.25, 0.5, 0.75, 1]);
    const ticks = yTickValues(1_234_567, true);
    assert.equal(ticks[0], 0);
    assert.ok(ticks.at(-1)! >= 1_234_567);
  });

  test('an all-zero series still gets an axis', () => {
    assert.deepEqual(yTickValues(0, true), [0, 1, 2, 3, 4]);
    assert.equal(yTickValues(0, false).at(-1), 1);
  });
});

describe('xTickIndices', () => {
  const starts = (n: number, from = T0) => Array.from({ length: n }, (_, i) => from + i * MINUTE);

  test('label every so many buckets, on round minutes, and no closer than a label and its gap', () => {
    // 60 buckets in 600 px: 10 px a bucket; a 40 px label needs 56 px, so every 10 minutes.
    const ticks = xTickIndices(starts(60), 60, 10, 40, 0);
    assert.deepEqual(ticks, [0, 10, 20, 30, 40, 50]);
  });

  test('ticks follow the clock, not the position: a window one bucket later keeps its labels on the same minutes', () => {
    const later = xTickIndices(starts(60, T0 + MINUTE), 60, 10, 40, 0);
    assert.deepEqual(later, [9, 19, 29, 39, 49, 59]);
  });

  test('hour steps land on the viewer’s whole hours, wherever the zone is', () => {
    const hour = 3_600_000;
    const hours = Array.from({ length: 24 }, (_, i) => T0 + i * hour);
    // One hour ahead and 20 px per hour: every 6 hours, at 00, 06, 12 and 18 on their clock.
    const ticks = xTickIndices(hours, 3600, 20, 60, 3600);
    assert.deepEqual(ticks.map((i) => (12 + 1 + i) % 24), [18, 0, 6, 12]);
    // 5:30 ahead: no hourly bucket starts on a whole hour there; labels land on the half hour.
    const india = xTickIndices(hours, 3600, 20, 60, 5.5 * 3600);
    assert.deepEqual(india.map((i) => (12 + 5 + i) % 24), [18, 0, 6, 12]);
  });

  test('a band too narrow for any listed span still spaces the labels out', () => {
    const ticks = xTickIndices(starts(60), 60, 0.5, 100, 0);
    assert.ok(ticks.length >= 1 && ticks.length <= 1 + Math.ceil(60 / Math.ceil(116 / 0.5)));
  });
});

describe('layoutChart', () => {
  test('lines pass through band centres from the top of the plot (max) to its floor (zero), with gaps kept', () => {
    const g = layoutChart(spec({ yMax: 4 }), { width: 400, height: 200 });
    const [line] = g.lines;
    assert.equal(line!.points.length, 4);
    assert.equal(line!.points[1]!.y, null);
    assert.ok(Math.abs(line!.points[0]!.x - (g.plot.left + g.band / 2)) < 0.01);
    // 4 is the top tick, 0 the baseline.
    assert.equal(g.yTicks.at(-1)!.y, g.plot.top);
    assert.equal(g.baseline, g.plot.top + g.plot.height);
    assert.ok(Math.abs(line!.points[2]!.y! - (g.plot.top + g.plot.height / 4)) < 0.01);
  });

  test('stacked bars sit on one another and skip zero values', () => {
    const g = layoutChart(
      spec({
        kind: 'bar',
        stacked: true,
        series: [
          { key: 'ok', name: 'OK', color: '#0f0', values: [2, 0, 1, 0] },
          { key: 'bad', name: 'Bad', color: '#f00', values: [2, 1, 0, 0] },
        ],
        integer: true,
      }),
      { width: 400, height: 200 },
    );
    const [ok, bad] = g.bars;
    assert.deepEqual(ok!.bars.map((b) => b.index), [0, 2]);
    assert.deepEqual(bad!.bars.map((b) => b.index), [0, 1]);
    // Bucket 0: "bad" starts where "ok" ends.
    assert.ok(Math.abs(bad!.bars[0]!.y + bad!.bars[0]!.height - ok!.bars[0]!.y) < 0.02);
    // The stack's top (4) is the axis top.
    assert.equal(g.yTicks.at(-1)!.value, 4);
    assert.ok(Math.abs(bad!.bars[0]!.y - g.plot.top) < 0.02);
    for (const b of [...ok!.bars, ...bad!.bars]) assert.ok(b.width > 0 && b.width < g.band);
  });

  test('the y axis is as wide as its longest label, and the plot fills the rest', () => {
    const narrow = layoutChart(spec({ formatY: (v) => String(v) }), { width: 400, height: 200 });
    const wide = layoutChart(spec({ formatY: (v) => `${v} milliseconds` }), { width: 400, height: 200 });
    assert.ok(wide.plot.left - narrow.plot.left >= textWidth(' milliseconds') - 1);
    assert.ok(wide.plot.width < narrow.plot.width);
    assert.ok(narrow.plot.left + narrow.plot.width <= 400);
  });

  test('x labels that would stick out of the chart are left off', () => {
    const buckets = minutes(60, Date.UTC(2026, 10, 23, 12, 1));
    const g = layoutChart(spec({ buckets, series: [{ key: 'a', name: 'A', color: '#000', values: buckets.map(() => 1) }], labels: buckets.map((b) => bucketLabel(b, 60, 'UTC')) }), { width: 300, height: 200 });
    assert.ok(g.xTicks.length > 0);
    for (const t of g.xTicks) {
      assert.ok(t.x - textWidth(t.label) / 2 >= 0 && t.x + textWidth(t.label) / 2 <= 300, `${t.label} at ${t.x}`);
    }
  });

  test('the same inputs give the same drawing (what the server sends is what hydration renders)', () => {
    assert.deepEqual(layoutChart(spec(), { width: 550, height: 200 }), layoutChart(spec(), { width: 550, height: 200 }));
  });

  test('bucketAt finds the bucket under a position and nothing outside the plot', () => {
    const g = layoutChart(spec(), { width: 400, height: 200 });
    assert.equal(bucketAt(g, g.plot.left + 0.1, 4), 0);
    assert.equal(bucketAt(g, g.plot.left + g.band * 2.5, 4), 2);
    assert.equal(bucketAt(g, g.plot.left - 1, 4), null);
    assert.equal(bucketAt(g, g.plot.left + g.plot.width + 1, 4), null);
  });
});

describe('time axis', () => {
  test('bucket labels are clock times in the given zone, with the weekday from hourly buckets up', () => {
    const iso = new Date(T0).toISOString();
    assert.equal(bucketLabel(iso, 60, 'UTC'), '12:00 PM');
    assert.equal(bucketLabel(iso, 60, 'Asia/Kolkata'), '05:30 PM');
    assert.equal(bucketLabel(iso, 3600, 'UTC'), 'Mon 12:00 PM');
  });

  test('zone offsets, including half hours and daylight saving', () => {
    assert.equal(zoneOffsetSeconds(T0, 'UTC'), 0);
    assert.equal(zoneOffsetSeconds(T0, 'Asia/Kolkata'), 5.5 * 3600);
    assert.equal(zoneOffsetSeconds(Date.UTC(2026, 0, 15), 'America/New_York'), -5 * 3600);
    assert.equal(zoneOffsetSeconds(Date.UTC(2026, 6, 15), 'America/New_York'), -4 * 3600);
  });
});

describe('isolatedPoints', () => {
  test('marks a value with no neighbour on either side, at either end too, and nothing that a segment passes through', () => {
    const points = [
      { x: 0, y: 5 },
      { x: 1, y: null },
      { x: 2, y: 7 },
      { x: 3, y: 8 },
      { x: 4, y: null },
      { x: 5, y: 9 },
    ];
    assert.deepEqual(isolatedPoints(points), [{ x: 0, y: 5 }, { x: 5, y: 9 }]);
    assert.deepEqual(isolatedPoints([{ x: 3, y: 1 }]), [{ x: 3, y: 1 }]);
    assert.deepEqual(isolatedPoints([{ x: 3, y: null }]), []);
  });
});
