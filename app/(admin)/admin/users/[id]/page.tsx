import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { UserDetail } from '@/components/users/user-detail';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';
import { fetchUserProfile } from '@/lib/users/user-profile-query';
import { userKeys } from '@/lib/users/keys';

export const metadata: Metadata = { title: 'User · Job Health' };

export default async function UserPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { user, supabase } = await requireUser(`/admin/users/${id}`);
  const profile = await fetchUserProfile(supabase, id);
  if (!profile) notFound();
  const queryClient = makeQueryClient();
  queryClient.setQueryData(userKeys.profile(id), profile);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <p>
        <Link href="/admin/users">← Find another user</Link>
      </p>
      <Suspense fallback={<div className="skeleton" style={{ height: '10rem' }} aria-label="Loading" />}>
        <UserDetail userId={id} role={roleOf(user) ?? 'user'} />
      </Suspense>
    </HydrationBoundary>
  );
}
