import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { IncidentList } from '@/components/alerts/incident-list';
import { resolvedIncidentsQueryOptions } from '@/lib/alerts/resolved-incidents-query';
import { requireUser } from '@/lib/auth/current-user';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Incidents · Job Health' };

export default async function IncidentsPage() {
  const { supabase } = await requireUser('/admin/incidents');
  const queryClient = makeQueryClient();
  await queryClient.prefetchQuery(resolvedIncidentsQueryOptions(supabase));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <div className="row spread">
        <h1>Incidents</h1>
        <Link href="/admin/alerts">Rules and channels</Link>
      </div>
      <IncidentList />
    </HydrationBoundary>
  );
}
