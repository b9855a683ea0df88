'use client';

import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { creditKeys } from '@/lib/credits/keys';
import { mergeJob } from '@/lib/jobs/job-schema';
import type { TopicStatus } from '@/lib/realtime/private-topic';
import type { AdminJobChange } from './admin-job-change';
import type { AdminJob, AdminJobRow } from './admin-job-schema';
import { useAdminJobChanges } from './admin-jobs-topic';
import type { ExplorerPage } from './jobs-explorer-query';
import { adminJobKeys } from './keys';

/** The live columns of a change applied to a cached row, unless the cache already holds a newer version. */
function patchRow<T extends AdminJobRow>(row: T, change: AdminJobChange): T {
  return mergeJob(row, {
    ...row,
    status: change.status,
    attempt: change.attempt,
    progress: change.progress ?? row.progress,
    stage: change.stage,
    error_class: change.error_class,
    updated_at: change.updated_at,
  });
}

/** A batch of changes over every cached explorer page that holds one of the jobs. */
export function patchExplorerPages(queryClient: QueryClient, changes: Map<string, AdminJobChange>) {
  queryClient.setQueriesData<ExplorerPage>({ queryKey: adminJobKeys.lists() }, (page) => {
    if (!page || !page.rows.some((row) => changes.has(row.id))) return page;
    return { ...page, rows: page.rows.map((row) => (changes.has(row.id) ? patchRow(row, changes.get(row.id)!) : row)) };
  });
}

/**
 * Live rows for the explorer. A changed job is patched where it is; a job that no longer matches
 * the filter stays on the page (the table marks it), because rows vanishing under the cursor
 * while an admin is selecting them is worse than a slightly stale page. New jobs are counted,
 * not inserted: inserting would shift every page; the admin loads them when ready.
 */
export function useExplorerLive(): { status: TopicStatus; newJobs: number; showNewJobs: () => void } {
  const queryClient = useQueryClient();
  const [newJobs, setNewJobs] = useState(0);
  const { status } = useAdminJobChanges(
    (batch) => {
      const byId = new Map(batch.map((change) => [change.id, change]));
      patchExplorerPages(queryClient, byId);
      const created = batch.filter((change) => change.old_status === null && change.status === 'queued').length;
      if (created) setNewJobs((n) => n + created);
    },
    { onResync: () => void queryClient.invalidateQueries({ queryKey: adminJobKeys.lists() }) },
  );
  const showNewJobs = useCallback(() => {
    setNewJobs(0);
    void queryClient.invalidateQueries({ queryKey: adminJobKeys.lists() });
  }, [queryClient]);
  return { status, newJobs, showNewJobs };
}

/**
 * Live status for one job's page. Progress and stage are patched in place; a status change also
 * refetches the job's records once (a new timeline event, maybe a refund and a provider call),
 * never once per progress tick.
 */
export function useAdminJobLive(jobId: string, userId: string | undefined): { status: TopicStatus } {
  const queryClient = useQueryClient();
  return useAdminJobChanges(
    (batch) => {
      const change = batch.find((c) => c.id === jobId);
      if (!change) return;
      const before = queryClient.getQueryData<AdminJob | null>(adminJobKeys.detail(jobId));
      if (before && change.status !== before.status) {
        // The full row (result, error message, lease) changes with the status: read it once.
        void queryClient.invalidateQueries({ queryKey: adminJobKeys.detail(jobId) });
        if (userId) void queryClient.invalidateQueries({ queryKey: creditKeys.all });
        return;
      }
      queryClient.setQueryData<AdminJob | null>(adminJobKeys.detail(jobId), (job) => (job ? patchRow(job, change) : job));
    },
    { onResync: () => void queryClient.invalidateQueries({ queryKey: adminJobKeys.detail(jobId) }) },
  );
}
