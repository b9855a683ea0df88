import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { auditKeys } from '@/lib/audit/keys';
import { reasonSchema } from '@/lib/audit/reason-schema';
import { creditKeys } from '@/lib/credits/keys';
import { createClient } from '@/lib/supabase/client';
import { JOB_ACTION_RPC, jobActionOutcomeSchema, type JobAction, type JobActionOutcome } from './job-actions';
import { adminJobKeys } from './keys';

export interface JobActionInput {
  action: JobAction;
  ids: string[];
  reason: string;
}

/**
 * Runs one bulk action. The whole call fails only for the role, the reason or the id list;
 * otherwise each job gets its own outcome (done, or skipped with why), which the dialog shows.
 */
export async function runJobAction(supabase: DatabaseClient, input: JobActionInput): Promise<JobActionOutcome[]> {
  const reason = reasonSchema.parse(input.reason);
  const { data, error } = await supabase.rpc(JOB_ACTION_RPC[input.action], { ids: input.ids, reason });
  if (error) throw new Error(error.message);
  return jobActionOutcomeSchema.array().parse(data);
}

export function useJobActionMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: JobActionInput) => runJobAction(createClient(), input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: adminJobKeys.all });
      void queryClient.invalidateQueries({ queryKey: creditKeys.all });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
