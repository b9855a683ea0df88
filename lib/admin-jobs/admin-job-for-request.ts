import 'server-only';
import { cache } from 'react';
import type { ServerRead } from '@/lib/jobs/job-cache-merge';
import { createClient } from '@/lib/supabase/server';
import { fetchAdminJob } from './admin-job-query';
import type { AdminJob } from './admin-job-schema';

/**
 * The job as staff see it, fetched once per request however many server components ask, with
 * when the read began (primeServerRead).
 */
export const getAdminJobForRequest = cache(async (jobId: string): Promise<ServerRead<AdminJob | null>> => {
  const supabase = await createClient();
  const readAt = Date.now();
  return { job: await fetchAdminJob(supabase, jobId), readAt };
});
