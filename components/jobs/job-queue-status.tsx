'use client';

import { useEffect, useRef, useState } from 'react';
import { Fact } from '@/components/format/fact';
import type { Job } from '@/lib/jobs/job-schema';
import { computeQueueEta, formatDuration } from '@/lib/jobs/queue-eta';
import { useQueuePosition } from '@/lib/jobs/queue-position-query';
import { useQueueRealtime } from '@/lib/jobs/use-queue-realtime';

/** A display clock for the countdown (no data is fetched on it); ticks only while it is shown. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    // The first tick right away (the clock may have been idle), then once a second.
    const tick = () => setNow(Date.now());
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, 1000);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [active]);
  return now;
}

/**
 * Queue position and ETA while the job waits, time left while it runs. Position refreshes on the
 * model's queue signal; the job's own changes (claimed, retried) refresh it once more.
 */
export function JobQueueStatus({ job }: { job: Job }) {
  const waiting = job.status === 'queued';
  const active = waiting || job.status === 'running';
  const queue = useQueuePosition(job.id, active);
  useQueueRealtime(job.id, job.model_id, waiting);
  const refetch = queue.refetch;
  // A new status or attempt changes what there is to say (a claim turns a position into time
  // left, a retry puts the job back in line); the first render's fetch is the query's own.
  const seen = useRef(`${job.status}:${job.attempt}`);
  useEffect(() => {
    const key = `${job.status}:${job.attempt}`;
    if (seen.current === key) return;
    seen.current = key;
    if (active) void refetch();
  }, [job.status, job.attempt, active, refetch]);
  const now = useNow(job.status === 'running' && queue.data?.latency_p50_ms != null);

  if (!active) return null;
  if (queue.isError) {
    return (
      <p className="muted" role="status">
        The queue position is unavailable right now.{' '}
        <button type="button" className="link-button" onClick={() => void queue.refetch()}>
          Try again
        </button>
      </p>
    );
  }
  if (!queue.data) return <div className="skeleton" aria-label="Loading the queue position" style={{ height: '1.5rem' }} />;

  const eta = computeQueueEta(job, queue.data, now);
  if (eta.kind === 'queued') {
    return (
      <dl className="facts" aria-label="Queue">
        <Fact term="Queue position">{eta.position}</Fact>
        <Fact term="Estimated time">
          {eta.paused
            ? 'This model is paused; your job waits until it resumes'
            : eta.etaMs === null
              ? 'Not enough recent calls to estimate'
              : `Done in ${formatDuration(eta.etaMs)}`}
        </Fact>
      </dl>
    );
  }
  if (eta.kind === 'running') {
    return (
      <dl className="facts" aria-label="Queue">
        <Fact term="Estimated time left">
          {eta.remainingMs === null ? 'Not enough recent calls to estimate' : eta.overdue ? 'Any moment now' : formatDuration(eta.remainingMs)}
        </Fact>
      </dl>
    );
  }
  return null;
}
