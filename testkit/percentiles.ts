/**
 * The statistics the tests and benchmarks report, defined once. Percentiles are nearest-rank
 * (the smallest sample with at least q of the samples at or below it), so every reported value
 * is one that was measured.
 */

/** The q-quantile (0 < q ≤ 1) of `values`, in any order; NaN when there are none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of the values that are not null (the mean of the middle two for an even count); null when there are none. */
export function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? (v[Math.floor((v.length - 1) / 2)]! + v[Math.ceil((v.length - 1) / 2)]!) / 2 : null;
}

/** p50, p95 and p99 of a sample, with its size. */
export function summary(values: readonly number[], digits = 2) {
  return {
    n: values.length,
    p50: round(percentile(values, 0.5), digits),
    p95: round(percentile(values, 0.95), digits),
    p99: round(percentile(values, 0.99), digits),
  };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
