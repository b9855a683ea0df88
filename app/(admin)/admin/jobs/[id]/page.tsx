import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { AdminJobDetail } from '@/components/admin-jobs/admin-job-detail';
import { getAdminJobForRequest } from '@/lib/admin-jobs/admin-job-for-request';
import { jobRecordsQueryOptions } from '@/lib/admin-jobs/job-records-query';
import { adminJobKeys } from '@/lib/admin-jobs/keys';
import { primeServerRead } from '@/lib/jobs/job-cache-merge';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Job · Job Health' };

export default async function AdminJobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const [{ user, supabase }, read] = await Promise.all([requireUser(`/admin/jobs/${id}`), getAdminJobForRequest(id)]);
  if (!read.job) notFound();
  const queryClient = makeQueryClient();
  primeServerRead(queryClient, adminJobKeys.detail(id), read);
  await queryClient.prefetchQuery(jobRecordsQueryOptions(supabase, id));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <p>
        <Link href="/admin/jobs">← All jobs</Link>
      </p>
      <AdminJobDetail jobId={id} role={roleOf(user) ?? 'user'} traceUrlTemplate={process.env.JOBHEALTH_TRACE_URL_TEMPLATE} />
    </HydrationBoundary>
  );
}
