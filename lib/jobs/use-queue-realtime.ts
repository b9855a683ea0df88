'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { createThrottle } from '@/lib/realtime/throttle';
import { createClient } from '@/lib/supabase/client';
import { jobKeys } from './keys';

/** At most one position refetch a second, however fast the model's queue moves. */
const REFRESH_INTERVAL_MS = 1000;

/**
 * Keeps a waiting job's queue position live. The page's own postgres_changes only carry this
 * user's rows, but the position falls when anyone's job of the same model leaves the queue; the
 * database says so on the private topic 'queue:<model>' (payload: the model id only), and each
 * signal asks job_queue_position again, throttled. Owned by the job page while the job is
 * queued: leaving the page, or the job starting, ends the subscription.
 */
export function useQueueRealtime(jobId: string, modelId: string, enabled: boolean) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    const supabase = createClient();
    const refresh = createThrottle(() => void queryClient.invalidateQueries({ queryKey: jobKeys.queuePosition(jobId), exact: true }), {
      intervalMs: REFRESH_INTERVAL_MS,
    });
    let cancelled = false;
    let channel: ReturnType<typeof supabase.channel> | null = null;
    // A private topic is authorised as the joining user: the socket must carry their token.
    void supabase.realtime.setAuth().then(() => {
      if (cancelled) return;
      channel = supabase
        .channel(`queue:${modelId}`, { config: { private: true } })
        .on('broadcast', { event: 'queue_moved' }, () => refresh.trigger())
        .subscribe((status) => {
          // Signals sent before the join (or while the socket was down) are not replayed.
          if (status === 'SUBSCRIBED') refresh.trigger();
        });
    });
    return () => {
      cancelled = true;
      refresh.cancel();
      if (channel) void supabase.removeChannel(channel);
    };
  }, [jobId, modelId, enabled, queryClient]);
}
