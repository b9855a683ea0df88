import type { QueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { creditKeys } from '@/lib/credits/keys';
import type { CreateJobInput } from './create-job-schema';
import { prependJob } from './apply-user-job-changes';
import { describeJobError, type JobErrorView } from './job-errors';
import { jobSchema, type Job } from './job-schema';
import { jobKeys } from './keys';

export class JobActionError extends Error {
  constructor(readonly view: JobErrorView) {
    super(view.message);
  }
}

/**
 * create_job validates, enqueues and charges in one transaction; this only calls it.
 * `traceparent`: the trace the job joins (create-job-in-trace.ts), sent as the W3C header.
 */
export async function createJob(supabase: DatabaseClient, input: CreateJobInput, traceparent?: string): Promise<Job> {
  const call = supabase.rpc('create_job', {
    p_model_id: input.modelId,
    p_prompt: input.prompt,
    p_options: { aspect_ratio: input.aspectRatio, number_of_images: input.numberOfImages },
  });
  const { data, error } = await (traceparent ? call.setHeader('traceparent', traceparent) : call);
  if (error) throw new JobActionError(describeJobError(error));
  return jobSchema.parse(data);
}

/** A new job (from the form, or generated again) goes to the top of the gallery at once; its charge moves the balance. */
export function showCreatedJob(queryClient: QueryClient, job: Job): void {
  queryClient.setQueryData(jobKeys.detail(job.id), job);
  prependJob(queryClient, job.user_id, job);
  void queryClient.invalidateQueries({ queryKey: creditKeys.balance(job.user_id), exact: true });
}
