'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { formatLatency } from './format';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Latency = { calls: number[]; p50_ms: (number | null)[]; p95_ms: (number | null)[]; p99_ms: (number | null)[] };
type Props = { modelId: string; buckets: string[]; latency: Latency; bucketSeconds: number; calls: number; p50: number | null; p95: number | null; p99: number | null };

const ms = (value: number) => formatLatency(value);

/** Gemini call latency of one model: p50, p95 and p99 per bucket. */
export const LatencyChart = memo(function LatencyChart({ modelId, buckets, latency, bucketSeconds, calls, p50, p95, p99 }: Props) {
  const series = useMemo(
    () => [
      { key: 'p50', name: 'p50', color: CHART_COLORS.p50, values: latency.p50_ms },
      { key: 'p95', name: 'p95', color: CHART_COLORS.p95, values: latency.p95_ms },
      { key: 'p99', name: 'p99', color: CHART_COLORS.p99, values: latency.p99_ms },
    ],
    [latency],
  );
  const title = `Gemini latency · ${modelId}`;
  const summary = calls === 0 ? 'No calls yet.' : `${calls.toLocaleString('en-US')} calls · p50 ${formatLatency(p50)} · p95 ${formatLatency(p95)} · p99 ${formatLatency(p99)}`;
  return (
    <ChartFrame id={`latency-${modelId.replace(/[^a-z0-9-]/gi, '-')}`} title={title} summary={summary} empty={calls === 0} emptyText="No calls yet.">
      <TimeSeriesChart label={`${title}: ${summary}`} kind="line" buckets={buckets} bucketSeconds={bucketSeconds} series={series} formatY={ms} />
    </ChartFrame>
  );
});
