import { replaceEqualDeep, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { mergeJob, type JobSnapshot } from './job-schema';

/**
 * React Query's `structuralSharing` hook for queries that cache jobs: every write to such an
 * entry (a fetch's answer and a `setQueryData` patch alike) passes through it, so the merge rule
 * (mergeJob: only a newer or equal updated_at replaces a cached job) holds whichever path wrote
 * last, and a refetch that read the row before a live change cannot undo it. `merge` says where
 * the jobs are in the entry's data; what is unchanged keeps its identity (replaceEqualDeep), as
 * React Query's default sharing does.
 */
export function keepNewerJobs<TData>(merge: (cached: TData, incoming: TData) => TData) {
  return (cached: unknown, incoming: unknown): unknown =>
    replaceEqualDeep(cached, cached === undefined || cached === null || incoming === null ? incoming : merge(cached as TData, incoming as TData));
}

/** For an entry that is one job (or null when the caller may not see it). */
export const keepNewerJob = keepNewerJobs<JobSnapshot>((cached, incoming) => mergeJob(cached, incoming));

/** A job as a server render read it, and when that read began (ms since the epoch, the server's clock). */
export interface ServerRead<T> {
  job: T;
  readAt: number;
}

/**
 * Puts a job a server render read into that request's QueryClient, to be hydrated in the browser.
 * Hydration does not pass through `structuralSharing`: it replaces a cached entry when the
 * server's entry was written later than the browser's. The entry is therefore stamped with when
 * the read began, not when the render got round to it (the layout reads, the page renders later):
 * a change the read missed committed after the read began and reached the browser's cache after
 * that, so hydrating the older row over it is refused, as mergeJob would refuse it.
 */
export function primeServerRead<T>(queryClient: QueryClient, queryKey: QueryKey, read: ServerRead<T>): void {
  queryClient.setQueryData(queryKey, read.job, { updatedAt: read.readAt });
}
