'use client';

import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { RealtimePostgresChangesPayload } from '@supabase/supabase-js';
import { useEffect } from 'react';
import { creditKeys } from '@/lib/credits/keys';
import { createClient } from '@/lib/supabase/client';
import { isTerminal, jobSchema, mergeJob, type Job } from './job-schema';
import { jobKeys } from './keys';

/**
 * Live updates for one job, owned by the page that shows it: subscribed on mount, removed on
 * unmount, so leaving the page ends them (a subscription outliving its page is what used to
 * yank users back to a job they had left). Each change patches the cache in place; nothing is
 * refetched per event. The one refetch happens on every (re)subscribe: changes made while the
 * socket was down, or between the first fetch and the join, are not replayed by Realtime.
 */
export function useJobRealtime(jobId: string) {
  const queryClient = useQueryClient();
  useEffect(() => {
    const supabase = createClient();
    const channel = supabase
      .channel(`job:${jobId}`)
      .on(
        'postgres_changes',
        { event: 'UPDATE', schema: 'public', table: 'jobs', filter: `id=eq.${jobId}` },
        (payload: RealtimePostgresChangesPayload<Record<string, unknown>>) => applyJobChange(queryClient, payload),
      )
      .subscribe((status) => {
        if (status === 'SUBSCRIBED') void queryClient.invalidateQueries({ queryKey: jobKeys.detail(jobId), exact: true });
      });
    return () => {
      void supabase.removeChannel(channel);
    };
  }, [jobId, queryClient]);
}

/**
 * Live status for the history list: one channel for the user's jobs (RLS already limits the
 * rows; the filter keeps staff accounts to their own). New jobs are rare, so an insert
 * invalidates the list; updates patch it.
 */
export function useJobHistoryRealtime(userId: string) {
  const queryClient = useQueryClient();
  useEffect(() => {
    const supabase = createClient();
    const channel = supabase
      .channel(`jobs:${userId}`)
      .on(
        'postgres_changes',
        { event: '*', schema: 'public', table: 'jobs', filter: `user_id=eq.${userId}` },
        (payload: RealtimePostgresChangesPayload<Record<string, unknown>>) => {
          if (payload.eventType === 'INSERT') {
            void queryClient.invalidateQueries({ queryKey: jobKeys.list(userId) });
            return;
          }
          applyJobChange(queryClient, payload);
        },
      )
      .subscribe((status) => {
        if (status === 'SUBSCRIBED') void queryClient.invalidateQueries({ queryKey: jobKeys.list(userId), exact: true });
      });
    return () => {
      void supabase.removeChannel(channel);
    };
  }, [userId, queryClient]);
}

/** Patches the detail entry and every list that holds the job; invalidates credits when the job ends. */
export function applyJobChange(queryClient: QueryClient, payload: RealtimePostgresChangesPayload<Record<string, unknown>>) {
  if (payload.eventType !== 'UPDATE') return;
  const parsed = jobSchema.safeParse(payload.new);
  if (!parsed.success) return;
  const job = parsed.data;
  const previous = queryClient.getQueryData<Job | null>(jobKeys.detail(job.id));
  queryClient.setQueryData<Job | null>(jobKeys.detail(job.id), (current) => mergeJob(current, job));
  queryClient.setQueriesData<Job[]>({ queryKey: jobKeys.lists() }, (list) =>
    list?.map((item) => (item.id === job.id ? mergeJob(item, job) : item)),
  );
  // A job that just ended may have refunded credits: one balance fetch per job ending.
  const oldStatus = (payload.old as { status?: string } | undefined)?.status ?? previous?.status;
  if (isTerminal(job.status) && oldStatus !== job.status) {
    void queryClient.invalidateQueries({ queryKey: creditKeys.all });
  }
}
