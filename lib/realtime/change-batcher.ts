import { useEffect, useMemo, useRef } from 'react';
import { useBatchInterval } from './batch-interval';
import { createThrottle, realTimers, type Timers } from './throttle';

/** What coalescing needs of a job change; both the admin and the end-user topics carry it. */
export interface JobChangeLike {
  id: string;
  old_status: string | null;
  updated_at: string;
}

/**
 * Coalescing of a burst of job changes into few batches, so a page watching every job renders a
 * few times a second however many changes arrive (at 500 changes/s one render per change is
 * 500 renders/s and the main thread never rests).
 *
 * Within a batch only the newest change per job id is kept; but the transitions the dropped
 * changes carried are folded into the kept one: `old_status` stays the status the job had
 * before the batch's first change, so a consumer counting queued/running from
 * old_status → status still sees one net transition per job (queued → running → succeeded in
 * one batch arrives as queued → succeeded).
 */
export function mergeChange<T extends JobChangeLike>(previous: T | undefined, incoming: T): T {
  if (!previous) return incoming;
  const incomingIsNewer = Date.parse(incoming.updated_at) >= Date.parse(previous.updated_at);
  const newest = incomingIsNewer ? incoming : previous;
  const oldest = incomingIsNewer ? previous : incoming;
  return { ...newest, old_status: oldest.old_status };
}

export type ChangeBatcher<T extends JobChangeLike> = {
  push: (change: T) => void;
  /** Delivers what is pending now (used before a pause, so nothing received is lost). */
  flush: () => void;
  /** Drops what is pending and stops the timer. */
  cancel: () => void;
};

/**
 * Throttled delivery: the first change after a quiet period is delivered on the next tick (a
 * lone event shows at once); after a delivery, the next one waits until `intervalMs` has
 * passed, so there are at most 1000 / intervalMs batches a second.
 */
export function createChangeBatcher<T extends JobChangeLike>(
  onBatch: (changes: T[]) => void,
  { intervalMs = 250, timers = realTimers }: { intervalMs?: number; timers?: Timers } = {},
): ChangeBatcher<T> {
  let pending = new Map<string, T>();
  const throttle = createThrottle(
    () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      onBatch(batch);
    },
    { intervalMs, timers },
  );
  return {
    push(change) {
      pending.set(change.id, mergeChange(pending.get(change.id), change));
      throttle.trigger();
    },
    flush: throttle.flush,
    cancel() {
      throttle.cancel();
      pending = new Map();
    },
  };
}

/**
 * A batcher that lives as long as the calling component: what is pending when it unmounts is
 * dropped. `onBatch` may change on every render; the interval (BatchInterval) is read when it
 * mounts.
 */
export function useChangeBatcher<T extends JobChangeLike>(onBatch: (changes: T[]) => void): ChangeBatcher<T> {
  const intervalMs = useBatchInterval();
  const latest = useRef(onBatch);
  const batcher = useRef<ChangeBatcher<T> | null>(null);
  useEffect(() => {
    latest.current = onBatch;
  });
  useEffect(() => {
    const mine = createChangeBatcher<T>((changes) => latest.current(changes), { intervalMs });
    batcher.current = mine;
    return () => {
      mine.cancel();
      batcher.current = null;
    };
  }, [intervalMs]);
  return useMemo(
    () => ({
      push: (change: T) => batcher.current?.push(change),
      flush: () => batcher.current?.flush(),
      cancel: () => batcher.current?.cancel(),
    }),
    [],
  );
}
