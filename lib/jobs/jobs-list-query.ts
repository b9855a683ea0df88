import { queryOptions, useQuery } from '@tanstack/react-query';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createClient } from '@/lib/supabase/client';
import { jobKeys } from './keys';
import { JOB_COLUMNS, jobSchema, type Job } from './job-schema';

/** The history shows the newest 50 (index jobs_user_created_idx): enough for a person's day. */
export const JOB_HISTORY_LIMIT = 50;

/**
 * The user's own jobs, newest first. Filtered by user id explicitly although RLS already limits
 * end users to their rows: staff can read every job, and their own history must still be theirs.
 */
export async function fetchJobHistory(supabase: SupabaseClient, userId: string): Promise<Job[]> {
  const { data, error } = await supabase
    .from('jobs')
    .select(JOB_COLUMNS)
    .eq('user_id', userId)
    .order('created_at', { ascending: false })
    .limit(JOB_HISTORY_LIMIT);
  if (error) throw new Error(error.message);
  return jobSchema.array().parse(data);
}

export const jobHistoryQueryOptions = (supabase: SupabaseClient, userId: string) =>
  queryOptions({
    queryKey: jobKeys.list(userId),
    queryFn: () => fetchJobHistory(supabase, userId),
  });

export const useJobHistory = (userId: string) => useQuery(jobHistoryQueryOptions(createClient(), userId));
