import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { keepNewerJobs } from '@/lib/jobs/job-cache-merge';
import { mergeJobRows } from '@/lib/jobs/job-schema';
import { createClient } from '@/lib/supabase/client';
import { ADMIN_JOB_ROW_COLUMNS, adminJobRowSchema, type AdminJobRow } from './admin-job-schema';
import { EXPLORER_PAGE_SIZE, likeLiteral, PROMPT_SEARCH_DEFAULT_DAYS, searchKind, type ExplorerFilters } from './explorer-filters';
import { adminJobKeys } from './keys';

export interface ExplorerPage {
  rows: AdminJobRow[];
  /**
   * Matching jobs: the planner's estimate while more pages follow (an exact count over a million
   * rows on every page view is what this console must not do), exact on the last page.
   */
  total: { estimated: boolean; value: number };
  hasNextPage: boolean;
  /** Set when a prompt search was bounded to recent jobs because no start time was given. */
  searchedSince: string | null;
}

/**
 * One page of jobs, newest first, filtered in the database. Ordered by (created_at, id) desc so
 * the scan follows jobs_created_idx / jobs_status_created_idx / jobs_user_created_idx and stops
 * after the page. One extra row is read to know whether a next page exists without counting.
 */
export async function fetchExplorerPage(supabase: DatabaseClient, filters: ExplorerFilters, now = new Date()): Promise<ExplorerPage> {
  let query = supabase.from('jobs').select(ADMIN_JOB_ROW_COLUMNS, { count: 'planned' });
  if (filters.status.length === 1) query = query.eq('status', filters.status[0]!);
  else if (filters.status.length > 1) query = query.in('status', filters.status);
  if (filters.model) query = query.eq('model_id', filters.model);
  if (filters.user) query = query.eq('user_id', filters.user);
  if (filters.error) query = query.eq('error_class', filters.error);
  let from = filters.from;
  let searchedSince: string | null = null;
  if (filters.q) {
    if (searchKind(filters.q) === 'id') {
      query = query.eq('id', filters.q.toLowerCase());
    } else {
      if (!from) {
        from = new Date(now.getTime() - PROMPT_SEARCH_DEFAULT_DAYS * 86_400_000).toISOString();
        searchedSince = from;
      }
      query = query.ilike('prompt', `%${likeLiteral(filters.q)}%`);
    }
  }
  if (from) query = query.gte('created_at', from);
  if (filters.to) query = query.lt('created_at', filters.to);
  const start = (filters.page - 1) * EXPLORER_PAGE_SIZE;
  const { data, error, count } = await query
    .order('created_at', { ascending: false })
    .order('id', { ascending: false })
    .range(start, start + EXPLORER_PAGE_SIZE);
  if (error) {
    // Past the last page (a link kept after jobs were filtered away): PostgREST answers 416
    // when a count came with the request. That is an empty page, not a failure.
    if (error.code === 'PGRST103') return { rows: [], total: { estimated: true, value: count ?? 0 }, hasNextPage: false, searchedSince };
    throw new Error(error.message);
  }
  const rows = adminJobRowSchema.array().parse(data);
  const hasNextPage = rows.length > EXPLORER_PAGE_SIZE;
  const seen = start + Math.min(rows.length, EXPLORER_PAGE_SIZE);
  return {
    rows: rows.slice(0, EXPLORER_PAGE_SIZE),
    // On the last page the total is known exactly; before it, the estimate is at least what was seen.
    total: hasNextPage ? { estimated: true, value: Math.max(count ?? 0, seen + 1) } : { estimated: false, value: seen },
    hasNextPage,
    searchedSince,
  };
}

export const explorerPageQueryOptions = (supabase: DatabaseClient, filters: ExplorerFilters) =>
  queryOptions({
    queryKey: adminJobKeys.list(filters),
    queryFn: () => fetchExplorerPage(supabase, filters),
    // A page refetched (a resync, "show new jobs") while its jobs change keeps the rows the live messages made newer.
    structuralSharing: keepNewerJobs<ExplorerPage>((cached, incoming) => ({ ...incoming, rows: mergeJobRows(cached.rows, incoming.rows) })),
  });

/** Keeps the previous page on screen while the next loads, so the table does not flash empty. */
export const useExplorerPage = (filters: ExplorerFilters) =>
  useQuery({ ...explorerPageQueryOptions(createClient(), filters), placeholderData: keepPreviousData });
