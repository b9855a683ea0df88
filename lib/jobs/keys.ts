/**
 * Query keys for jobs, built here only: the realtime hooks patch exactly the entries the pages
 * read, which works only if both spell the key the same way.
 */
export const jobKeys = {
  all: ['jobs'] as const,
  lists: () => [...jobKeys.all, 'list'] as const,
  list: (userId: string) => [...jobKeys.lists(), userId] as const,
  details: () => [...jobKeys.all, 'detail'] as const,
  detail: (jobId: string) => [...jobKeys.details(), jobId] as const,
  resultUrl: (jobId: string, path: string) => [...jobKeys.detail(jobId), 'result-url', path] as const,
  queuePosition: (jobId: string) => [...jobKeys.detail(jobId), 'queue-position'] as const,
};
