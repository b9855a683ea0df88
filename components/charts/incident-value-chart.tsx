'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { formatCompact } from './format';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Props = {
  /** One point per evaluation while the incident was open, oldest first, with its value in words. */
  points: { at: string; value: number | null; text: string }[];
  threshold: number;
  /** The threshold in words. */
  thresholdText: string;
};

/** Evaluations run every minute: each point is drawn in a one-minute bucket. */
const EVALUATION_SECONDS = 60;

/**
 * An incident's value at every evaluation, against its rule's threshold (drawn as a second line).
 * Values are worded by the database (each event's and the incident's text); the chart only
 * looks them up, and the axis shows plain numbers in the same unit.
 */
export const IncidentValueChart = memo(function IncidentValueChart({ points, threshold, thresholdText }: Props) {
  const buckets = useMemo(() => points.map((p) => p.at), [points]);
  const series = useMemo(
    () => [
      { key: 'value', name: 'Value', color: CHART_COLORS.failed, values: points.map((p) => p.value) },
      { key: 'threshold', name: 'Threshold', color: CHART_COLORS.p95, values: points.map(() => threshold) },
    ],
    [points, threshold],
  );
  const wordsOf = useMemo(() => {
    const words = new Map(points.flatMap((p) => (p.value === null ? [] : [[p.value, p.text] as const])));
    words.set(threshold, thresholdText);
    return (value: number) => words.get(value) ?? formatCompact(value);
  }, [points, threshold, thresholdText]);
  const measured = points.filter((p) => p.value !== null);
  const last = measured.at(-1) ?? null;
  const top = Math.max(threshold, ...measured.map((p) => p.value!)) * 1.1;
  const summary = last === null ? `No value measured yet; the threshold is ${thresholdText}.` : `Last ${last.text}; the threshold is ${thresholdText}.`;
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
        formatY={formatCompact}
        formatValue={wordsOf}
      />
    </ChartFrame>
  );
});
