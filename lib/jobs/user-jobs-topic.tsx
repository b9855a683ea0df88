'use client';

import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { usePathname } from 'next/navigation';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { creditKeys } from '@/lib/credits/keys';
import { useChangeBatcher } from '@/lib/realtime/change-batcher';
import { usePrivateTopic } from '@/lib/realtime/private-topic';
import { createClient } from '@/lib/supabase/client';
import { applyUserJobChanges } from './apply-user-job-changes';
import type { GalleryData } from './gallery-query';
import { fetchJob } from './job-query';
import type { Job } from './job-schema';
import { jobKeys } from './keys';
import { creditsChangeSchema, parseUserJobChange, USER_TOPIC_EVENTS, userTopic, type UserJobChange } from './user-job-change';

/** A job that finished while its owner was elsewhere in the app. */
export interface JobNotice {
  jobId: string;
  status: 'succeeded' | 'failed';
  /** Credits the failure returned. */
  refunded: number;
  /** The prompt when the tab has the job cached, for the notice's text. */
  prompt: string | null;
}

/** At most this many notices at once; older ones make way (each links to its job, nothing is lost). */
const MAX_NOTICES = 4;

interface JobNoticesValue {
  notices: JobNotice[];
  dismiss: (jobId: string) => void;
}
const JobNoticesContext = createContext<JobNoticesValue>({ notices: [], dismiss: () => {} });

/**
 * The signed-in tab's one subscription to its user's private topic 'user:<user_id>:jobs', owned
 * by the end-user layout: every page the user visits (a job, the gallery, the balance in the
 * header) is kept live by it, and leaving the signed-in part of the app (signing out) ends it
 * and its notices. Messages are coalesced (at most ~4 batches a second, the newest change per
 * job) and patch the React Query caches (applyUserJobChanges); on every join the pages' data is
 * refetched once, since Realtime does not replay what was sent while the socket was down, the
 * tab hidden, or before the join. A job that finishes while the user is not on its page raises a
 * notice with a link to it; nothing ever navigates by itself.
 */
export function UserJobChangesProvider({ userId, children }: { userId: string; children: ReactNode }) {
  const queryClient = useQueryClient();
  const pathname = usePathname();
  const pathnameRef = useRef(pathname);
  useEffect(() => {
    pathnameRef.current = pathname;
  });
  const [notices, setNotices] = useState<JobNotice[]>([]);

  const batcher = useChangeBatcher<UserJobChange>((changes) => {
    applyUserJobChanges(queryClient, userId, changes, (jobId) => fetchJob(createClient(), jobId));
    const finished = changes.filter(
      (c) => c.status !== c.old_status && (c.status === 'succeeded' || c.status === 'failed') && pathnameRef.current !== `/jobs/${c.id}`,
    );
    if (finished.length === 0) return;
    const added = finished.map((c) => ({
      jobId: c.id,
      status: c.status as JobNotice['status'],
      refunded: c.refunded,
      prompt: cachedPrompt(queryClient, userId, c.id),
    }));
    setNotices((current) => [...current.filter((n) => !added.some((a) => a.jobId === n.jobId)), ...added].slice(-MAX_NOTICES));
  });
  usePrivateTopic(userTopic(userId), {
    onMessage(event, payload) {
      if (event === USER_TOPIC_EVENTS.jobChanged) {
        const change = parseUserJobChange(payload);
        if (change) batcher.push(change);
      } else if (event === USER_TOPIC_EVENTS.creditsChanged) {
        const parsed = creditsChangeSchema.safeParse(payload);
        if (parsed.success) queryClient.setQueryData(creditKeys.balance(userId), parsed.data.balance);
      }
    },
    onJoin: () => refetchLiveData(queryClient, userId),
    onPause: () => batcher.flush(),
  });

  const dismiss = useCallback((jobId: string) => setNotices((current) => current.filter((n) => n.jobId !== jobId)), []);
  // A notice for the page the user just opened has served its purpose.
  const visible = useMemo(() => notices.filter((n) => pathname !== `/jobs/${n.jobId}`), [notices, pathname]);
  const value = useMemo(() => ({ notices: visible, dismiss }), [visible, dismiss]);
  return <JobNoticesContext.Provider value={value}>{children}</JobNoticesContext.Provider>;
}

/** The notices of the tab's subscription, for the layout's notice region. */
export const useJobNotices = () => useContext(JobNoticesContext);

/** Once per join: every job page cached, the gallery, the balance and refunds. */
function refetchLiveData(queryClient: QueryClient, userId: string) {
  void queryClient.invalidateQueries({
    predicate: (q) => q.queryKey.length === jobKeys.detail('').length && q.queryKey[0] === jobKeys.all[0] && q.queryKey[1] === jobKeys.details()[1],
  });
  void queryClient.invalidateQueries({ queryKey: jobKeys.list(userId), exact: true });
  void queryClient.invalidateQueries({ queryKey: creditKeys.all });
}

function cachedPrompt(queryClient: QueryClient, userId: string, jobId: string): string | null {
  const detail = queryClient.getQueryData<Job | null>(jobKeys.detail(jobId));
  if (detail) return detail.prompt;
  for (const page of queryClient.getQueryData<GalleryData>(jobKeys.list(userId))?.pages ?? []) {
    const item = page.items.find((i) => i.id === jobId);
    if (item) return item.prompt;
  }
  return null;
}
