'use client';

import { memo, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFrame } from './chart-frame';
import { bucketLabel, CHART_COLORS } from './time-axis';

type Props = {
  /** One point per evaluation while the incident was open, oldest first. */
  points: { at: string; value: number | null }[];
  threshold: number;
  format: (value: number) => string;
};

/** An incident's value at every evaluation, against its rule's threshold. */
export const IncidentValueChart = memo(function IncidentValueChart({ points, threshold, format }: Props) {
  const rows = useMemo(() => points.map((p) => ({ label: bucketLabel(p.at, 60), value: p.value })), [points]);
  const measured = points.filter((p) => p.value !== null);
  const last = measured.at(-1)?.value ?? null;
  return (
    <ChartFrame
      id="incident-value"
      title="Value at each evaluation"
      summary={last === null ? `No value measured yet; the threshold is ${format(threshold)}.` : `Last ${format(last)}; the threshold is ${format(threshold)}.`}
      empty={measured.length === 0}
      emptyText="No value measured yet."
    >
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis tickFormatter={format} tick={{ fontSize: 12 }} width={64} domain={[0, (max: number) => Math.max(max, threshold) * 1.1]} />
          <Tooltip formatter={(value) => (typeof value === 'number' ? format(value) : String(value))} />
          <ReferenceLine y={threshold} stroke={CHART_COLORS.p95} strokeDasharray="6 3" label={{ value: 'threshold', position: 'insideTopRight', fontSize: 12 }} />
          <Line type="stepAfter" dataKey="value" name="Value" stroke={CHART_COLORS.failed} dot={rows.length < 30} isAnimationActive={false} connectNulls={false} />
        </LineChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
});
