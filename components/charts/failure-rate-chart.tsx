'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { formatPercent } from './format';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Props = { buckets: string[]; failureRate: (number | null)[]; bucketSeconds: number; overall: number | null };

const percent = (rate: number) => formatPercent(rate);

/** failed / (succeeded + failed) per bucket; gaps where nothing finished. */
export const FailureRateChart = memo(function FailureRateChart({ buckets, failureRate, bucketSeconds, overall }: Props) {
  const series = useMemo(() => [{ key: 'rate', name: 'Failure rate', color: CHART_COLORS.failed, values: failureRate }], [failureRate]);
  const empty = overall === null;
  const summary = empty ? 'No jobs finished in this window.' : `${formatPercent(overall)} of finished jobs failed in this window.`;
  return (
    <ChartFrame id="failure-rate" title="Failure rate" summary={summary} empty={empty} emptyText="No jobs finished in this window yet.">
      <TimeSeriesChart label={`Failure rate: ${summary}`} kind="line" buckets={buckets} bucketSeconds={bucketSeconds} series={series} yMax={1} formatY={percent} legend={false} />
    </ChartFrame>
  );
});
