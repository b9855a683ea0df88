'use client';

import { memo, useMemo } from 'react';
import { ChartFrame } from './chart-frame';
import { formatCompact, formatCount } from './format';
import { CHART_COLORS } from './time-axis';
import { TimeSeriesChart } from './time-series-chart';

type Props = { buckets: string[]; queued: (number | null)[]; running: (number | null)[]; bucketSeconds: number; queuedNow: number; runningNow: number };

/**
 * A bucket without a sample had no job change, so its depth is the previous bucket's: carried
 * forward, the chart draws a step line instead of isolated dots.
 */
function carryForward(values: readonly (number | null)[]): (number | null)[] {
  let last: number | null = null;
  return values.map((v) => (last = v ?? last));
}

/** Jobs waiting and running at the end of each bucket. */
export const QueueDepthChart = memo(function QueueDepthChart({ buckets, queued, running, bucketSeconds, queuedNow, runningNow }: Props) {
  const series = useMemo(
    () => [
      { key: 'queued', name: 'Queued', color: CHART_COLORS.queued, values: carryForward(queued) },
      { key: 'running', name: 'Running', color: CHART_COLORS.running, values: carryForward(running) },
    ],
    [queued, running],
  );
  // Zero is a sample (an idle queue draws a flat line); only buckets without any sample are empty.
  const empty = queued.every((v) => v === null) && running.every((v) => v === null);
  const summary = `Now ${queuedNow} queued, ${runningNow} running.`;
  return (
    <ChartFrame id="queue-depth" title="Queue depth" summary={summary} empty={empty} emptyText="No queue samples in this window yet.">
      <TimeSeriesChart label={`Queue depth: ${summary}`} kind="area" curve="stepAfter" buckets={buckets} bucketSeconds={bucketSeconds} series={series} integer formatY={formatCompact} formatValue={formatCount} />
    </ChartFrame>
  );
});
