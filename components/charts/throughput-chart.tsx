'use client';

import { memo, useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFrame } from './chart-frame';
import { bucketLabel, CHART_COLORS } from './time-axis';

type Props = { buckets: string[]; succeeded: number[]; failed: number[]; cancelled: number[]; bucketSeconds: number };

/** Finished jobs per bucket, stacked by outcome. */
export const ThroughputChart = memo(function ThroughputChart({ buckets, succeeded, failed, cancelled, bucketSeconds }: Props) {
  const rows = useMemo(
    () => buckets.map((bucket, i) => ({ label: bucketLabel(bucket, bucketSeconds), succeeded: succeeded[i] ?? 0, failed: failed[i] ?? 0, cancelled: cancelled[i] ?? 0 })),
    [buckets, succeeded, failed, cancelled, bucketSeconds],
  );
  const total = rows.reduce((sum, r) => sum + r.succeeded + r.failed + r.cancelled, 0);
  return (
    <ChartFrame id="throughput" title="Throughput by outcome" summary={`${total.toLocaleString('en-US')} ${total === 1 ? 'job' : 'jobs'} finished in this window.`} empty={total === 0} emptyText="No jobs finished in this window yet.">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 12 }} />
          <Tooltip />
          <Legend />
          <Bar dataKey="succeeded" name="Succeeded" stackId="outcome" fill={CHART_COLORS.succeeded} isAnimationActive={false} />
          <Bar dataKey="failed" name="Failed" stackId="outcome" fill={CHART_COLORS.failed} isAnimationActive={false} />
          <Bar dataKey="cancelled" name="Cancelled" stackId="outcome" fill={CHART_COLORS.cancelled} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
});
