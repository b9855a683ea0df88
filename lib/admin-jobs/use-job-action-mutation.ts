import { useMutation, useQueryClient } from '@tanstack/react-query';
import { auditKeys } from '@/lib/audit/keys';
import { creditKeys } from '@/lib/credits/keys';
import { jobActionAction } from './job-action-action';
import type { JobActionInput } from './job-action-mutation';
import { jobActionOutcomeSchema } from './job-actions';
import { adminJobKeys } from './keys';

/**
 * The console's job action. Through the server action, where the action becomes a trace linked
 * to its jobs' (job-action-in-trace.ts); a module of its own so the plain runJobAction stays
 * importable where server actions cannot run (the data-layer tests).
 */
export function useJobActionMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (input: JobActionInput) => {
      const reply = await jobActionAction(input);
      if ('error' in reply) throw new Error(reply.error);
      return jobActionOutcomeSchema.array().parse(reply.outcomes);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: adminJobKeys.all });
      void queryClient.invalidateQueries({ queryKey: creditKeys.all });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
