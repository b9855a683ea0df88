import { useMutation, useQueryClient } from '@tanstack/react-query';
import { createJobAction } from './create-job-action';
import { JobActionError, showCreatedJob } from './create-job-mutation';
import type { CreateJobInput } from './create-job-schema';
import { jobSchema } from './job-schema';

/**
 * The new-job form's mutation. Through the server action, not straight to create_job: the job's
 * trace starts on the server (create-job-in-trace.ts). A module of its own so that the plain
 * createJob stays importable where server actions cannot run (the data-layer tests).
 */
export function useCreateJobMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (input: CreateJobInput) => {
      const reply = await createJobAction(input);
      if ('error' in reply) throw new JobActionError(reply.error);
      return jobSchema.parse(reply.job);
    },
    onSuccess: (job) => showCreatedJob(queryClient, job),
  });
}
