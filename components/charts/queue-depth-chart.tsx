'use client';

import { memo, useMemo } from 'react';
import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFrame } from './chart-frame';
import { bucketLabel, CHART_COLORS } from './time-axis';

type Props = { buckets: string[]; queued: (number | null)[]; running: (number | null)[]; bucketSeconds: number; queuedNow: number; runningNow: number };

/** Jobs waiting and running at the end of each bucket. */
export const QueueDepthChart = memo(function QueueDepthChart({ buckets, queued, running, bucketSeconds, queuedNow, runningNow }: Props) {
  // A bucket without a sample had no job change, so its depth is the previous bucket's: carried
  // forward, the chart draws a step line instead of isolated dots.
  const rows = useMemo(() => {
    let lastQueued: number | null = null;
    let lastRunning: number | null = null;
    return buckets.map((bucket, i) => {
      lastQueued = queued[i] ?? lastQueued;
      lastRunning = running[i] ?? lastRunning;
      return { label: bucketLabel(bucket, bucketSeconds), queued: lastQueued, running: lastRunning };
    });
  }, [buckets, queued, running, bucketSeconds]);
  // Zero is a sample (an idle queue draws a flat line); only buckets without any sample are empty.
  const empty = queued.every((v) => v === null) && running.every((v) => v === null);
  return (
    <ChartFrame id="queue-depth" title="Queue depth" summary={`Now ${queuedNow} queued, ${runningNow} running.`} empty={empty} emptyText="No queue samples in this window yet.">
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 12 }} />
          <Tooltip />
          <Legend />
          <Area type="stepAfter" dataKey="queued" name="Queued" stroke={CHART_COLORS.queued} fill={CHART_COLORS.queued} fillOpacity={0.25} isAnimationActive={false} connectNulls />
          <Area type="stepAfter" dataKey="running" name="Running" stroke={CHART_COLORS.running} fill={CHART_COLORS.running} fillOpacity={0.25} isAnimationActive={false} connectNulls />
        </AreaChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
});
