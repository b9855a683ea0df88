import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ModelRegistry } from '@/components/models/model-registry';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { modelRegistryQueryOptions } from '@/lib/models/model-registry-query';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Models · Job Health' };

/** Admins only: support gets the same 404 as a page that does not exist. */
export default async function ModelsPage() {
  const { user, supabase } = await requireUser('/admin/models');
  if (roleOf(user) !== 'admin') notFound();
  const queryClient = makeQueryClient();
  await queryClient.prefetchQuery(modelRegistryQueryOptions(supabase));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <h1>Models</h1>
      <ModelRegistry />
    </HydrationBoundary>
  );
}
