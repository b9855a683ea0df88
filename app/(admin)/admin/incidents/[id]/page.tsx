import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { IncidentStory } from '@/components/alerts/incident-story';
import { incidentQueryOptions } from '@/lib/alerts/incident-query';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Incident · Job Health' };

export default async function IncidentPage({ params }: { params: Promise<{ id: string }> }) {
  const { id: raw } = await params;
  const id = Number(raw);
  if (!/^\d{1,15}$/.test(raw)) notFound();
  const { user, supabase } = await requireUser(`/admin/incidents/${raw}`);
  const queryClient = makeQueryClient();
  const story = await queryClient.fetchQuery(incidentQueryOptions(supabase, id));
  if (!story) notFound();
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <p>
        <Link href="/admin/incidents">← All incidents</Link>
      </p>
      <IncidentStory incidentId={id} role={roleOf(user) ?? 'user'} />
    </HydrationBoundary>
  );
}
