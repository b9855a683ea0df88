'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Props = {
  /** One point per evaluation while the incident was open, oldest first. */
  points: { at: string; value: number | null }[];
  threshold: number;
  format: (value: number) => string;
};

/** Evaluations run every minute: each point is drawn in a one-minute bucket. */
const EVALUATION_SECONDS = 60;

/** An incident's value at every evaluation, against its rule's threshold (drawn as a second line). */
export const IncidentValueChart = memo(function IncidentValueChart({ points, threshold, format }: Props) {
  const buckets = useMemo(() => points.map((p) => p.at), [points]);
  const series = useMemo(
    () => [
      { key: 'value', name: 'Value', color: CHART_COLORS.failed, values: points.map((p) => p.value) },
      { key: 'threshold', name: 'Threshold', color: CHART_COLORS.p95, values: points.map(() => threshold) },
    ],
    [points, threshold],
  );
  const measured = points.filter((p) => p.value !== null);
  const last = measured.at(-1)?.value ?? null;
  const top = Math.max(threshold, ...measured.map((p) => p.value!)) * 1.1;
  const summary = last === null ? `No value measured yet; the threshold is ${format(threshold)}.` : `Last ${format(last)}; the threshold is ${format(threshold)}.`;
  return (
    <ChartFrame id="incident-value" title="Value at each evaluation" summary={summary} empty={measured.length === 0} emptyText="No value measured yet.">
      <TimeSeriesChart
        label={`Value at each evaluation: ${summary}`}
        kind="line"
        curve="stepAfter"
        buckets={buckets}
        bucketSeconds={EVALUATION_SECONDS}
        series={series}
        yMax={top > 0 ? top : undefined}
        formatY={format}
      />
    </ChartFrame>
  );
});
