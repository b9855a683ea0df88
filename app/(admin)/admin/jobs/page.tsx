import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import { Suspense } from 'react';
import { JobExplorer } from '@/components/admin-jobs/job-explorer';
import { explorerPageQueryOptions } from '@/lib/admin-jobs/jobs-explorer-query';
import { parseExplorerFilters } from '@/lib/admin-jobs/explorer-filters';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';
import JobsLoading from './loading';

export const metadata: Metadata = { title: 'Jobs · Job Health' };

export default async function JobsExplorerPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const [{ user, supabase }, params] = await Promise.all([requireUser('/admin/jobs'), searchParams]);
  const filters = parseExplorerFilters(params);
  const queryClient = makeQueryClient();
  // The first page arrives with the HTML; a failure here is left to the client's error state.
  await queryClient.prefetchQuery(explorerPageQueryOptions(supabase, filters));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <h1>Jobs</h1>
      <Suspense fallback={<JobsLoading />}>
        <JobExplorer role={roleOf(user) ?? 'user'} />
      </Suspense>
    </HydrationBoundary>
  );
}
