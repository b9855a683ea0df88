import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { requireUser } from '@/lib/auth/current-user';
import { getJobForRequest } from '@/lib/jobs/job-for-request';

/**
 * The access check lives in the layout, outside this segment's loading boundary: a notFound()
 * thrown inside a Suspense boundary arrives after the 200 status has been streamed, and a job
 * the user may not see must answer 404. RLS returns nothing for another user's job, so theirs
 * and a job that never existed are the same 404.
 */
export default async function JobLayout({ children, params }: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await params;
  await requireUser(`/jobs/${id}`);
  if (!(await getJobForRequest(id)).job) notFound();
  return children;
}
