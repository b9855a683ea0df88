'use client';

import { useChangeBatcher } from '@/lib/realtime/change-batcher';
import { usePrivateTopic, type TopicStatus } from '@/lib/realtime/private-topic';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges, type AdminJobChange } from './admin-job-change';

/**
 * Subscribes to the private 'admin:jobs' topic while the calling component is mounted (System
 * Health, the job explorer, a job's page share the tab's one channel). Each message carries the
 * changes of one statement; onBatch receives them coalesced into batches (at most ~4 a second;
 * within a batch only the newest change per job); onResync is
 * called on every join, so the consumer reads again what it shows (nothing committed between
 * its fetch and the join is lost); while the tab is hidden the channel is left (status 'paused').
 */
export function useAdminJobChanges(
  onBatch: (changes: AdminJobChange[]) => void,
  options?: { onResync?: () => void },
): { status: TopicStatus } {
  const batcher = useChangeBatcher<AdminJobChange>(onBatch);
  return usePrivateTopic(ADMIN_JOBS_TOPIC, {
    onMessage(event, payload) {
      if (event !== ADMIN_JOBS_EVENT) return;
      // One message per statement: each job's change is merged on its own, as before.
      for (const change of parseAdminJobChanges(payload)) batcher.push(change);
    },
    onJoin: () => options?.onResync?.(),
    onPause: () => batcher.flush(),
  });
}
