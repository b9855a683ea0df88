import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { creditKeys } from '@/lib/credits/keys';
import { createClient } from '@/lib/supabase/client';
import { JobActionError } from './create-job-mutation';
import { describeJobError } from './job-errors';
import { jobKeys } from './keys';

export type CancelOutcome = 'done' | 'skipped' | 'not_found';

/**
 * cancel_jobs lets an end user cancel their own queued jobs; a job that started meanwhile comes
 * back 'skipped' with the reason, which is shown rather than treated as a crash.
 */
export async function cancelJob(supabase: DatabaseClient, jobId: string): Promise<{ outcome: CancelOutcome; message: string | null }> {
  const { data, error } = await supabase.rpc('cancel_jobs', { ids: [jobId], reason: 'cancelled by the owner' });
  if (error) throw new JobActionError(describeJobError(error));
  const row = data[0];
  if (!row) throw new JobActionError({ kind: 'unknown', message: 'The cancel request returned nothing' });
  // outcome is text in the schema; apply_job_action writes only these three.
  return { outcome: row.outcome as CancelOutcome, message: row.message };
}

export function useCancelJobMutation(jobId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => cancelJob(createClient(), jobId),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: jobKeys.detail(jobId) });
      void queryClient.invalidateQueries({ queryKey: creditKeys.all });
    },
  });
}
