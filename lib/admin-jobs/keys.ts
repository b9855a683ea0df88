import type { ExplorerFilters } from './explorer-filters';

/**
 * Query keys for the admin console's jobs, built here only: the live hooks patch exactly the
 * entries the explorer and the detail page read.
 */
export const adminJobKeys = {
  all: ['admin-jobs'] as const,
  lists: () => [...adminJobKeys.all, 'list'] as const,
  list: (filters: ExplorerFilters) => [...adminJobKeys.lists(), filters] as const,
  details: () => [...adminJobKeys.all, 'detail'] as const,
  detail: (jobId: string) => [...adminJobKeys.details(), jobId] as const,
  records: (jobId: string) => [...adminJobKeys.detail(jobId), 'records'] as const,
};
