'use client';

import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFrame } from './chart-frame';
import { bucketLabel, CHART_COLORS } from './time-axis';
import { formatLatency as ms } from './format';

type Latency = { calls: number[]; p50_ms: (number | null)[]; p95_ms: (number | null)[]; p99_ms: (number | null)[] };
type Props = { modelId: string; buckets: string[]; latency: Latency; bucketSeconds: number; calls: number; p50: number | null; p95: number | null; p99: number | null };

/** Gemini call latency of one model: p50, p95 and p99 per bucket. */
export const LatencyChart = memo(function LatencyChart({ modelId, buckets, latency, bucketSeconds, calls, p50, p95, p99 }: Props) {
  const rows = useMemo(
    () => buckets.map((bucket, i) => ({ label: bucketLabel(bucket, bucketSeconds), p50: latency.p50_ms[i] ?? null, p95: latency.p95_ms[i] ?? null, p99: latency.p99_ms[i] ?? null })),
    [buckets, latency, bucketSeconds],
  );
  const summary = calls === 0 ? 'No calls yet.' : `${calls.toLocaleString('en-US')} calls · p50 ${ms(p50)} · p95 ${ms(p95)} · p99 ${ms(p99)}`;
  return (
    <ChartFrame id={`latency-${modelId.replace(/[^a-z0-9-]/gi, '-')}`} title={`Gemini latency · ${modelId}`} summary={summary} empty={calls === 0} emptyText="No calls yet.">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis tickFormatter={(v: number) => ms(v)} tick={{ fontSize: 12 }} width={64} />
          <Tooltip formatter={(value) => (typeof value === 'number' ? ms(value) : String(value))} />
          <Legend />
          <Line type="monotone" dataKey="p50" name="p50" stroke={CHART_COLORS.p50} dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="p95" name="p95" stroke={CHART_COLORS.p95} dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="p99" name="p99" stroke={CHART_COLORS.p99} dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
});
