import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { keepNewerJob } from '@/lib/jobs/job-cache-merge';
import { createClient } from '@/lib/supabase/client';
import { ADMIN_JOB_COLUMNS, adminJobSchema, type AdminJob } from './admin-job-schema';
import { adminJobKeys } from './keys';

/** One job with everything staff see, or null when it does not exist (or the id is malformed). */
export async function fetchAdminJob(supabase: DatabaseClient, jobId: string): Promise<AdminJob | null> {
  const { data, error } = await supabase.from('jobs').select(ADMIN_JOB_COLUMNS).eq('id', jobId).maybeSingle();
  if (error) {
    if (error.code === '22P02') return null;
    throw new Error(error.message);
  }
  return data ? adminJobSchema.parse(data) : null;
}

export const adminJobQueryOptions = (supabase: DatabaseClient, jobId: string) =>
  queryOptions({ queryKey: adminJobKeys.detail(jobId), queryFn: () => fetchAdminJob(supabase, jobId), structuralSharing: keepNewerJob });

export const useAdminJob = (jobId: string) => useQuery(adminJobQueryOptions(createClient(), jobId));
