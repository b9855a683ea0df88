'use client';

import { memo, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFrame } from './chart-frame';
import { bucketLabel, CHART_COLORS } from './time-axis';
import { formatPercent as percent } from './format';

type Props = { buckets: string[]; failureRate: (number | null)[]; bucketSeconds: number; overall: number | null };

/** failed / (succeeded + failed) per bucket; gaps where nothing finished. */
export const FailureRateChart = memo(function FailureRateChart({ buckets, failureRate, bucketSeconds, overall }: Props) {
  const rows = useMemo(
    () => buckets.map((bucket, i) => ({ label: bucketLabel(bucket, bucketSeconds), rate: failureRate[i] ?? null })),
    [buckets, failureRate, bucketSeconds],
  );
  const empty = overall === null;
  return (
    <ChartFrame id="failure-rate" title="Failure rate" summary={empty ? 'No jobs finished in this window.' : `${percent(overall)} of finished jobs failed in this window.`} empty={empty} emptyText="No jobs finished in this window yet.">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: -8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis domain={[0, 1]} tickFormatter={percent} tick={{ fontSize: 12 }} />
          <Tooltip formatter={(value) => (typeof value === 'number' ? percent(value) : String(value))} />
          <Line type="monotone" dataKey="rate" name="Failure rate" stroke={CHART_COLORS.failed} dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
});
