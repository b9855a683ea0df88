import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { JobDetail } from '@/components/jobs/job-detail';
import { primeServerRead } from '@/lib/jobs/job-cache-merge';
import { getJobForRequest } from '@/lib/jobs/job-for-request';
import { jobKeys } from '@/lib/jobs/keys';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'Job · Job Health' };

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const read = await getJobForRequest(id);
  if (!read.job) notFound();
  const queryClient = makeQueryClient();
  primeServerRead(queryClient, jobKeys.detail(id), read);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <p>
        <Link href="/jobs">← All jobs</Link>
      </p>
      <JobDetail jobId={id} />
    </HydrationBoundary>
  );
}
