import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { removeFromGallery } from './apply-user-job-changes';
import { JobActionError } from './create-job-mutation';
import { describeJobError } from './job-errors';
import { DELETED_STAGE, type Job } from './job-schema';
import { jobKeys } from './keys';

/** delete_job's answer (a json document, so the generated types say only Json). */
export const jobDeletionSchema = z.object({ job_id: z.uuid(), content_deleted_at: z.string(), objects_queued: z.number().int() });
export type JobDeletion = z.infer<typeof jobDeletionSchema>;

/**
 * delete_job erases a job's prompt and images (the row stays as the record of its charge); the
 * database refuses a job that is queued or running, or not the caller's, with a sentence.
 */
export async function deleteJob(supabase: DatabaseClient, jobId: string): Promise<JobDeletion> {
  const { data, error } = await supabase.rpc('delete_job', { p_job_id: jobId });
  if (error) throw new JobActionError(describeJobError(error));
  return jobDeletionSchema.parse(data);
}

/**
 * The card goes from this tab's gallery at once and the job page refetches its blanked row; the
 * other tabs hear it from the job_changed message the deletion writes.
 */
export function useDeleteJobMutation(jobId: string, userId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => deleteJob(createClient(), jobId),
    onSuccess: (deletion) => {
      removeFromGallery(queryClient, userId, jobId);
      queryClient.setQueryData<Job | null>(jobKeys.detail(jobId), (job) =>
        job ? { ...job, prompt: '', options: {}, result: null, error_message: null, stage: DELETED_STAGE, content_deleted_at: deletion.content_deleted_at } : job,
      );
      void queryClient.invalidateQueries({ queryKey: jobKeys.detail(jobId), exact: true });
    },
  });
}
