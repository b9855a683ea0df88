import { getNiceTickValues } from 'recharts';

/**
 * Where everything of a time-series chart goes, computed from the data and the chart's size
 * alone: no DOM, no measuring. The server and the browser's first render compute the same
 * numbers from the same inputs, so the SVG the server sends is the SVG React hydrates.
 *
 * Buckets sit in equal bands along x; lines and areas pass through band centres, bars fill
 * 80% of their band. y starts at zero.
 */
export type ChartSize = { width: number; height: number };
export type ChartKind = 'area' | 'bar' | 'line';
export type ChartSeries = { key: string; name: string; color: string; values: readonly (number | null)[] };
export type ChartSpec = {
  kind: ChartKind;
  /** Bucket start times (ISO), one per band. */
  buckets: readonly string[];
  series: readonly ChartSeries[];
  /** Bars stack on one another; lines and areas are drawn each from zero. */
  stacked?: boolean;
  /** A fixed top for y (rates: 1); otherwise the data's maximum, rounded up to a nice tick. */
  yMax?: number;
  integer?: boolean;
  formatY: (value: number) => string;
  /** The x-axis text of each bucket. */
  labels: readonly string[];
  /** Ticks land on multiples of a round span of time (every 15 min, every 6 h, ...). */
  bucketSeconds: number;
  /** The viewer's offset from UTC, so "every 6 h" means 00:00, 06:00, ... on their clock. */
  zoneOffsetSeconds: number;
};
export type Point = { x: number; y: number | null };
export type Bar = { index: number; x: number; y: number; width: number; height: number };
export type ChartGeometry = {
  plot: { left: number; top: number; width: number; height: number };
  band: number;
  yTicks: { value: number; y: number; label: string }[];
  xTicks: { index: number; x: number; label: string }[];
  /** Per series: its points (kind line/area) or its bars (kind bar). */
  lines: { key: string; points: Point[] }[];
  bars: { key: string; bars: Bar[] }[];
  /** The y of zero: an area's floor. */
  baseline: number;
};

const MARGIN = { top: 8, right: 12, bottom: 22, left: 4 };
const FONT_PX = 12;
/** An average glyph of the 12 px system UI font; labels are short, so an estimate is enough. */
const GLYPH_PX = 6.8;
const TICK_GAP_PX = 16;
const Y_TICK_COUNT = 5;
const BAR_FILL = 0.8;
/** Spans a tick may step by, in seconds: round on a clock. */
const TICK_SPANS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

export const textWidth = (text: string) => Math.ceil(text.length * GLYPH_PX);
export const AXIS_FONT_PX = FONT_PX;

const yTickCache = new Map<string, readonly number[]>();

/**
 * Nice y ticks from zero up to (at least) the top of the data, as the chart library picks them.
 * Remembered per top: the library computes them in arbitrary precision (about 0.3 ms a call
 * on a busy 2-core machine), and under a stream of changes the top rarely moves.
 */
export function yTickValues(max: number, integer: boolean): readonly number[] {
  const top = Number.isFinite(max) && max > 0 ? max : integer ? Y_TICK_COUNT - 1 : 1;
  const key = `${top}|${integer}`;
  let ticks = yTickCache.get(key);
  if (!ticks) {
    if (yTickCache.size >= 512) yTickCache.clear();
    ticks = getNiceTickValues([0, top], Y_TICK_COUNT, !integer);
    yTickCache.set(key, ticks);
  }
  return ticks;
}

/**
 * Indices of the buckets that get an x label: every `step` buckets, where step × bucket is the
 * shortest round span whose labels do not touch. Ticks are chosen by absolute time, not by
 * position, so when the window slides by a bucket the labels slide with the data instead of
 * being re-picked.
 */
export function xTickIndices(bucketStarts: readonly number[], bucketSeconds: number, band: number, labelWidth: number, zoneOffsetSeconds: number): number[] {
  const span = TICK_SPANS.find((s) => s % bucketSeconds === 0 && (s / bucketSeconds) * band >= labelWidth + TICK_GAP_PX);
  // Wider than any listed span: a label every so many buckets, whatever time that is.
  const every = span ?? bucketSeconds * Math.ceil((labelWidth + TICK_GAP_PX) / band);
  // A zone off the bucket grid (India's +5:30 against hourly buckets) never has a bucket on a
  // whole local hour: round its offset down to the grid so its labels land on :30 instead.
  const offset = zoneOffsetSeconds - (((zoneOffsetSeconds % bucketSeconds) + bucketSeconds) % bucketSeconds);
  const indices: number[] = [];
  bucketStarts.forEach((ms, i) => {
    const local = Math.round(ms / 1000) + offset;
    if (((local % every) + every) % every === 0) indices.push(i);
  });
  return indices;
}

function seriesTop(spec: ChartSpec): number {
  let top = 0;
  const n = spec.buckets.length;
  if (spec.stacked) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (const s of spec.series) sum += s.values[i] ?? 0;
      top = Math.max(top, sum);
    }
  } else {
    for (const s of spec.series) for (let i = 0; i < n; i++) top = Math.max(top, s.values[i] ?? 0);
  }
  return top;
}

export function layoutChart(spec: ChartSpec, size: ChartSize): ChartGeometry {
  const values = yTickValues(spec.yMax ?? seriesTop(spec), spec.integer ?? false);
  const yTop = values[values.length - 1]!;
  const yLabels = values.map(spec.formatY);
  const yAxisWidth = Math.max(...yLabels.map(textWidth)) + 8;
  const left = MARGIN.left + yAxisWidth;
  const plot = {
    left,
    top: MARGIN.top,
    width: Math.max(1, size.width - left - MARGIN.right),
    height: Math.max(1, size.height - MARGIN.top - MARGIN.bottom),
  };
  const n = spec.buckets.length;
  const band = plot.width / Math.max(1, n);
  const yOf = (v: number) => plot.top + plot.height * (1 - v / yTop);
  const centre = (i: number) => plot.left + band * (i + 0.5);
  const round = (v: number) => Math.round(v * 100) / 100;

  const { labels } = spec;
  const labelWidth = Math.max(0, ...labels.map(textWidth));
  const starts = spec.buckets.map((b) => Date.parse(b));
  const xTicks = xTickIndices(starts, spec.bucketSeconds, band, labelWidth, spec.zoneOffsetSeconds)
    .map((index) => ({ index, x: round(centre(index)), label: labels[index]! }))
    // A label that would stick out of the chart is left off rather than clipped.
    .filter((t) => t.x - textWidth(t.label) / 2 >= 0 && t.x + textWidth(t.label) / 2 <= size.width);

  const lines: ChartGeometry['lines'] = [];
  const bars: ChartGeometry['bars'] = [];
  if (spec.kind === 'bar') {
    const floor = new Array<number>(n).fill(0);
    const width = round(band * BAR_FILL);
    for (const s of spec.series) {
      const list: Bar[] = [];
      for (let i = 0; i < n; i++) {
        const v = s.values[i] ?? 0;
        if (v <= 0) continue;
        const bottom = spec.stacked ? floor[i]! : 0;
        const y0 = yOf(bottom);
        const y1 = yOf(bottom + v);
        if (spec.stacked) floor[i] = bottom + v;
        list.push({ index: i, x: round(plot.left + band * (i + (1 - BAR_FILL) / 2)), y: round(y1), width, height: round(y0 - y1) });
      }
      bars.push({ key: s.key, bars: list });
    }
  } else {
    for (const s of spec.series) {
      lines.push({ key: s.key, points: spec.buckets.map((_, i) => ({ x: round(centre(i)), y: s.values[i] == null ? null : round(yOf(s.values[i]!)) })) });
    }
  }

  return {
    plot,
    band,
    yTicks: values.map((value, i) => ({ value, y: round(yOf(value)), label: yLabels[i]! })),
    xTicks,
    lines,
    bars,
    baseline: round(yOf(0)),
  };
}

/** The bucket under an x position in the chart (pointer or keyboard), or null outside the plot. */
/**
 * Points with no value on either side: a line has no segment to draw through them, so a lone
 * bucket with data (one minute of calls, an incident's first evaluation) needs a dot to be seen.
 */
export function isolatedPoints(points: readonly Point[]): { x: number; y: number }[] {
  return points.flatMap((p, i) => (p.y !== null && points[i - 1]?.y == null && points[i + 1]?.y == null ? [{ x: p.x, y: p.y }] : []));
}

export function bucketAt(geometry: ChartGeometry, x: number, buckets: number): number | null {
  const i = Math.floor((x - geometry.plot.left) / geometry.band);
  return i >= 0 && i < buckets ? i : null;
}
