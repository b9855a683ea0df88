import type { QueryClient } from '@tanstack/react-query';
import { creditKeys } from '@/lib/credits/keys';
import type { GalleryData, GalleryItem } from './gallery-query';
import { DELETED_STAGE, isTerminal, mergeJob, type Job } from './job-schema';
import { jobKeys } from './keys';
import type { UserJobChange } from './user-job-change';

/**
 * How a batch of 'job_changed' messages from the user's own topic lands in the React Query
 * caches: the job page's entry, the gallery's cards, the job's refund and the balance. Each
 * message patches what is cached in place; nothing is fetched per message except
 *   * a job that is new (old_status null) and not in the gallery yet: fetched once and put at
 *     the top (it is the newest); a change to a job on a page not loaded is dropped, so nothing
 *     lands out of place;
 *   * the job page after a change of status: once, for what the message does not carry (when
 *     the attempt started, which the running ETA counts from; the error message; the retry
 *     time; when it finished). Only a page that shows the job refetches;
 *   * the balance after a change that moved credits (a job created or retried is charged, one
 *     that ended is refunded): once per such change. Grants arrive as 'credits_changed';
 *   * a deleted job (stage 'deleted', from delete_job in this tab or another): its card leaves the
 *     gallery, and a page showing the job refetches its blanked row.
 */
export function applyUserJobChanges(
  queryClient: QueryClient,
  userId: string,
  changes: readonly UserJobChange[],
  fetchNewJob: (jobId: string) => Promise<Job | null>,
): void {
  let creditsMoved = false;
  const missing: string[] = [];
  for (const change of changes) {
    queryClient.setQueryData<Job | null>(jobKeys.detail(change.id), (current) => (current ? patchJob(current, change) : current));
    if (change.stage === DELETED_STAGE) {
      removeFromGallery(queryClient, userId, change.id);
      void queryClient.invalidateQueries({ queryKey: jobKeys.detail(change.id), exact: true });
      continue;
    }
    let found = false;
    queryClient.setQueryData<GalleryData>(jobKeys.list(userId), (data) => {
      if (!data) return data;
      const pages = data.pages.map((page) => {
        if (!page.items.some((item) => item.id === change.id)) return page;
        found = true;
        return { ...page, items: page.items.map((item) => (item.id === change.id ? patchGalleryItem(item, change) : item)) };
      });
      return found ? { ...data, pages } : data;
    });
    if (!found && change.old_status === null) missing.push(change.id);
    if (change.refunded > 0) queryClient.setQueryData(creditKeys.jobRefund(change.id), change.refunded);

    if (change.status === change.old_status) continue;
    void queryClient.invalidateQueries({ queryKey: jobKeys.detail(change.id), exact: true });
    if (change.old_status === null || change.refunded > 0 || (isTerminal(change.old_status) && change.status === 'queued')) creditsMoved = true;
  }
  if (creditsMoved) void queryClient.invalidateQueries({ queryKey: creditKeys.balance(userId), exact: true });
  for (const id of missing) {
    void fetchNewJob(id).then((job) => {
      if (job) prependJob(queryClient, userId, job);
    });
  }
}

/** The change's columns over the cached job, by the one merge rule: a message older than a refetch must not win. */
function patchJob<T extends Job>(current: T, change: UserJobChange): T {
  return mergeJob(current, {
    ...current,
    status: change.status,
    stage: change.stage,
    progress: change.progress,
    attempt: change.attempt,
    error_class: change.error_class,
    result: change.result,
    updated_at: change.updated_at,
  });
}

function patchGalleryItem(item: GalleryItem, change: UserJobChange): GalleryItem {
  const patched = patchJob(item, change);
  if (patched === item) return item;
  // The thumbnail's path is the job's own: a URL signed for it stays good while the job keeps its image.
  const same = change.result !== null && item.result !== null;
  return { ...patched, refunded: change.refunded, thumbnailUrl: same ? item.thumbnailUrl : null };
}

/** Puts a new job at the top of the gallery's first page, once. */
export function prependJob(queryClient: QueryClient, userId: string, job: Job): void {
  queryClient.setQueryData<GalleryData>(jobKeys.list(userId), (data) => {
    if (!data || data.pages.length === 0) return data;
    if (data.pages.some((page) => page.items.some((item) => item.id === job.id))) return data;
    const [first, ...rest] = data.pages;
    return { ...data, pages: [{ ...first!, items: [{ ...job, refunded: 0, thumbnailUrl: null }, ...first!.items] }, ...rest] };
  });
}

/** Takes a job's card out of the gallery's loaded pages, wherever it is. */
export function removeFromGallery(queryClient: QueryClient, userId: string, jobId: string): void {
  queryClient.setQueryData<GalleryData>(jobKeys.list(userId), (data) => {
    if (!data || !data.pages.some((page) => page.items.some((item) => item.id === jobId))) return data;
    return { ...data, pages: data.pages.map((page) => ({ ...page, items: page.items.filter((item) => item.id !== jobId) })) };
  });
}
