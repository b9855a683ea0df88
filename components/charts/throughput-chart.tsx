'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { formatCompact, formatCount } from './format';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Props = { buckets: string[]; succeeded: number[]; failed: number[]; cancelled: number[]; bucketSeconds: number };

const sum = (values: readonly number[]) => values.reduce((total, v) => total + v, 0);

/** Finished jobs per bucket, stacked by outcome. */
export const ThroughputChart = memo(function ThroughputChart({ buckets, succeeded, failed, cancelled, bucketSeconds }: Props) {
  const series = useMemo(
    () => [
      { key: 'succeeded', name: 'Succeeded', color: CHART_COLORS.succeeded, values: succeeded },
      { key: 'failed', name: 'Failed', color: CHART_COLORS.failed, values: failed },
      { key: 'cancelled', name: 'Cancelled', color: CHART_COLORS.cancelled, values: cancelled },
    ],
    [succeeded, failed, cancelled],
  );
  const total = sum(succeeded) + sum(failed) + sum(cancelled);
  const summary = `${total.toLocaleString('en-US')} ${total === 1 ? 'job' : 'jobs'} finished in this window.`;
  return (
    <ChartFrame id="throughput" title="Throughput by outcome" summary={summary} empty={total === 0} emptyText="No jobs finished in this window yet.">
      <TimeSeriesChart label={`Throughput by outcome: ${summary}`} kind="bar" stacked buckets={buckets} bucketSeconds={bucketSeconds} series={series} integer formatY={formatCompact} formatValue={formatCount} />
    </ChartFrame>
  );
});
