import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { JobActionError, showCreatedJob } from './create-job-mutation';
import { describeJobError } from './job-errors';
import { jobSchema, type Job } from './job-schema';

/**
 * generate_again makes a new job from one of the user's ended jobs through create_job: the same
 * model, prompt and options, and the same charge, limits and errors as a job made from the form.
 */
export async function generateAgain(supabase: DatabaseClient, jobId: string): Promise<Job> {
  const { data, error } = await supabase.rpc('generate_again', { p_job_id: jobId });
  if (error) throw new JobActionError(describeJobError(error));
  return jobSchema.parse(data);
}

export function useGenerateAgainMutation(jobId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => generateAgain(createClient(), jobId),
    onSuccess: (job) => showCreatedJob(queryClient, job),
  });
}
