'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useDeferredValue, useEffect, useRef, useState } from 'react';
import { FailureRateChart } from '@/components/charts/failure-rate-chart';
import { LatencyChart } from '@/components/charts/latency-chart';
import { QueueDepthChart } from '@/components/charts/queue-depth-chart';
import { ThroughputChart } from '@/components/charts/throughput-chart';
import { ErrorPanel } from '@/components/jobs/error-panel';
import type { AdminJobChange } from '@/lib/admin-jobs/admin-job-change';
import { useAdminJobChanges } from '@/lib/admin-jobs/admin-jobs-topic';
import { useHealth } from '@/lib/metrics/health-query';
import { appendActivity, applyJobChangesToHealth } from '@/lib/metrics/health-patch';
import type { HealthDocument } from '@/lib/metrics/health-schema';
import { HEALTH_WINDOWS, type HealthWindow } from '@/lib/metrics/health-window';
import { metricsKeys } from '@/lib/metrics/keys';
import { createThrottle, type Throttle } from '@/lib/realtime/throttle';
import { KpiCards } from './kpi-cards';
import { LiveStatus } from './live-status';
import { ModelStateTable } from './model-state-table';
import { RecentActivity } from './recent-activity';
import { WindowPicker } from './window-picker';

/**
 * What events cannot patch (latency percentiles, circuits, refunds, oldest queued age, workers)
 * is refetched at most this often, and only after events arrived: a quiet system costs nothing,
 * a busy one one `job_health` call per 10 s (about 30-50 ms of database time at 1,000,000 jobs).
 */
const AGGREGATE_REFRESH_MS = 10_000;
/** The first refresh after a quiet spell waits a moment, so it sees the claim that follows an enqueue. */
const AGGREGATE_REFRESH_DELAY_MS = 1_000;

export function SystemHealth({ initialWindow }: { initialWindow: HealthWindow }) {
  const [selected, setSelected] = useState<HealthWindow>(initialWindow);
  const [activity, setActivity] = useState<AdminJobChange[]>([]);
  const queryClient = useQueryClient();
  const health = useHealth(selected);

  const refresh = useRef<Throttle | null>(null);
  useEffect(() => {
    const throttle = createThrottle(() => void queryClient.invalidateQueries({ queryKey: metricsKeys.health() }), {
      intervalMs: AGGREGATE_REFRESH_MS,
      leadingDelayMs: AGGREGATE_REFRESH_DELAY_MS,
    });
    refresh.current = throttle;
    return () => throttle.cancel();
  }, [queryClient]);

  const { status } = useAdminJobChanges(
    useCallback(
      (changes: AdminJobChange[]) => {
        queryClient.setQueriesData<HealthDocument>({ queryKey: metricsKeys.health() }, (doc) => doc && applyJobChangesToHealth(doc, changes));
        setActivity((list) => appendActivity(list, changes));
        refresh.current?.trigger();
      },
      [queryClient],
    ),
    { onResync: () => void queryClient.invalidateQueries({ queryKey: metricsKeys.health() }) },
  );

  const chooseWindow = (next: HealthWindow) => {
    setSelected(next);
    // Shareable without a server round trip: the URL follows, the page does not reload.
    const url = new URL(globalThis.location.href);
    url.searchParams.set('window', next);
    globalThis.history.replaceState(null, '', url);
  };

  const spec = HEALTH_WINDOWS[selected];
  const doc = health.data;

  return (
    <div>
      <div className="health-header">
        <h1>System Health</h1>
        <div className="health-controls">
          <LiveStatus status={status} />
          <WindowPicker value={selected} onChange={chooseWindow} />
        </div>
      </div>
      {doc ? (
        <HealthBody doc={doc} activity={activity} windowMinutes={spec.minutes} windowLabel={spec.label} />
      ) : health.isError ? (
        <ErrorPanel title="System Health could not be loaded" error={health.error} onRetry={() => void health.refetch()} />
      ) : (
        <HealthSkeleton />
      )}
      {doc && health.isError ? (
        <p className="notice notice-error" role="alert">
          Refreshing failed ({health.error.message}); showing the last figures.{' '}
          <button type="button" className="link-button" onClick={() => void health.refetch()}>
            Try again
          </button>
        </p>
      ) : null}
    </div>
  );
}

function HealthBody({ doc, activity, windowMinutes, windowLabel }: { doc: HealthDocument; activity: AdminJobChange[]; windowMinutes: number; windowLabel: string }) {
  // A cache update re-renders synchronously (React Query reads the cache through
  // useSyncExternalStore), in one task however long it takes. The charts, the bulk of that work,
  // follow a deferred copy instead: React redraws them in the background in slices of a few
  // milliseconds, so a batch of changes under load does not become one long task. The figures
  // and tables still update in the batch's own render.
  const charted = useDeferredValue(doc);
  const { series, window } = charted;
  return (
    <div>
      <KpiCards doc={doc} windowMinutes={windowMinutes} windowLabel={windowLabel} />
      <div className="chart-grid">
        <QueueDepthChart buckets={series.bucket} queued={series.queued} running={series.running} bucketSeconds={window.bucket_seconds} queuedNow={charted.current.queued} runningNow={charted.current.running} />
        <ThroughputChart buckets={series.bucket} succeeded={series.succeeded} failed={series.failed} cancelled={series.cancelled} bucketSeconds={window.bucket_seconds} />
        <FailureRateChart buckets={series.bucket} failureRate={series.failure_rate} bucketSeconds={window.bucket_seconds} overall={charted.totals.failure_rate} />
        {charted.models.map((m) => (
          <LatencyChart key={m.model_id} modelId={m.model_id} buckets={series.bucket} latency={m.latency} bucketSeconds={window.bucket_seconds} calls={m.calls} p50={m.p50_ms} p95={m.p95_ms} p99={m.p99_ms} />
        ))}
      </div>
      <div className="health-lower">
        <ModelStateTable models={doc.models} />
        <RecentActivity changes={activity} />
      </div>
    </div>
  );
}

function HealthSkeleton() {
  return (
    <div aria-busy="true" aria-label="Loading System Health">
      <div className="kpi-grid">
        {Array.from({ length: 8 }, (_, i) => (
          <div key={i} className="kpi skeleton" style={{ height: '5rem' }} />
        ))}
      </div>
      <div className="chart-grid">
        {Array.from({ length: 4 }, (_, i) => (
          <div key={i} className="card skeleton" style={{ height: '18rem' }} />
        ))}
      </div>
    </div>
  );
}
