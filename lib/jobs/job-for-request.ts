import 'server-only';
import { cache } from 'react';
import { createClient } from '@/lib/supabase/server';
import type { ServerRead } from './job-cache-merge';
import { fetchJob } from './job-query';
import type { Job } from './job-schema';

/**
 * The job as the signed-in user sees it, fetched once per request however many server
 * components ask (the layout checks access, the page hydrates it), with when the read began
 * (primeServerRead).
 */
export const getJobForRequest = cache(async (jobId: string): Promise<ServerRead<Job | null>> => {
  const supabase = await createClient();
  const readAt = Date.now();
  return { job: await fetchJob(supabase, jobId), readAt };
});
