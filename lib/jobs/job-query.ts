import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { keepNewerJob } from './job-cache-merge';
import { jobKeys } from './keys';
import { JOB_COLUMNS, jobSchema, type Job } from './job-schema';

/**
 * One job, or null when the caller may not see it: RLS hides other users' jobs, so "not yours"
 * and "does not exist" look the same, which is what the 404 page needs (no existence leak).
 */
export async function fetchJob(supabase: DatabaseClient, jobId: string): Promise<Job | null> {
  const { data, error } = await supabase.from('jobs').select(JOB_COLUMNS).eq('id', jobId).maybeSingle();
  if (error) {
    // A malformed uuid is a request for a job that cannot exist.
    if (error.code === '22P02') return null;
    throw new Error(error.message);
  }
  return data ? jobSchema.parse(data) : null;
}

export const jobQueryOptions = (supabase: DatabaseClient, jobId: string) =>
  queryOptions({
    queryKey: jobKeys.detail(jobId),
    queryFn: () => fetchJob(supabase, jobId),
    structuralSharing: keepNewerJob,
  });

/** The browser's hook for one job; pages prefetch the same options on the server. */
export const useJob = (jobId: string) => useQuery(jobQueryOptions(createClient(), jobId));
