import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import { JobGallery } from '@/components/jobs/job-gallery';
import { NewJobForm } from '@/components/jobs/new-job-form';
import { requireUser } from '@/lib/auth/current-user';
import { balanceQueryOptions } from '@/lib/credits/balance-query';
import { galleryQueryOptions } from '@/lib/jobs/gallery-query';
import { modelsQueryOptions } from '@/lib/models/models-query';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Your jobs · Job Health' };

export default async function JobsPage() {
  const { user, supabase } = await requireUser('/jobs');
  const queryClient = makeQueryClient();
  // Prefetched here and hydrated, so the first paint has data and the client does not refetch it.
  await Promise.all([
    queryClient.prefetchInfiniteQuery(galleryQueryOptions(supabase, user.id)),
    queryClient.prefetchQuery(modelsQueryOptions(supabase)),
    queryClient.prefetchQuery(balanceQueryOptions(supabase, user.id)),
  ]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <div className="columns">
        <section aria-labelledby="new-job-heading" className="card">
          <h1 id="new-job-heading">New image</h1>
          <NewJobForm userId={user.id} />
        </section>
        <section aria-labelledby="history-heading" className="card">
          <h2 id="history-heading">Your jobs</h2>
          <JobGallery userId={user.id} />
        </section>
      </div>
    </HydrationBoundary>
  );
}
