'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { usePrivateTopic } from '@/lib/realtime/private-topic';
import { createThrottle, type Throttle } from '@/lib/realtime/throttle';
import { jobKeys } from './keys';

/** At most one position refetch a second, however fast the model's queue moves. */
const REFRESH_INTERVAL_MS = 1000;

export const queueTopic = (modelId: string) => `queue:${modelId}`;

/**
 * Keeps a waiting job's queue position live. The user's own topic only carries this user's jobs,
 * but the position falls when anyone's job of the same model leaves the queue; the database says
 * so on the private topic 'queue:<model>' (payload: the model id only), and each signal, like
 * each join, asks job_queue_position again, throttled. Owned by the job page while the job is
 * queued: leaving the page, or the job starting, ends the subscription.
 */
export function useQueueRealtime(jobId: string, modelId: string, enabled: boolean) {
  const queryClient = useQueryClient();
  const refresh = useRef<Throttle | null>(null);
  useEffect(() => {
    const throttle = createThrottle(() => void queryClient.invalidateQueries({ queryKey: jobKeys.queuePosition(jobId), exact: true }), {
      intervalMs: REFRESH_INTERVAL_MS,
    });
    refresh.current = throttle;
    return () => throttle.cancel();
  }, [jobId, queryClient]);
  usePrivateTopic(enabled ? queueTopic(modelId) : null, {
    onMessage(event) {
      if (event === 'queue_moved') refresh.current?.trigger();
    },
    onJoin: () => refresh.current?.trigger(),
  });
}
