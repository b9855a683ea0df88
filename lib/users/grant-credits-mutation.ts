import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { auditKeys } from '@/lib/audit/keys';
import { reasonSchema } from '@/lib/audit/reason-schema';
import { creditKeys } from '@/lib/credits/keys';
import { createClient } from '@/lib/supabase/client';
import { userKeys } from './keys';

/** The form's rule is grant_credits' rule: a whole number from 1 to 100000, and a reason. */
export const grantCreditsSchema = z.object({
  amount: z.coerce
    .number({ error: 'Enter a number of credits' })
    .int('Whole credits only')
    .min(1, 'Grant at least 1 credit')
    .max(100_000, 'At most 100000 credits at once'),
  reason: reasonSchema,
});
export type GrantCreditsInput = z.infer<typeof grantCreditsSchema>;

const grantResultSchema = z.object({ user_id: z.uuid(), granted: z.number(), balance: z.coerce.number() });
export type GrantResult = z.infer<typeof grantResultSchema>;

export async function grantCredits(supabase: DatabaseClient, userId: string, input: GrantCreditsInput): Promise<GrantResult> {
  const { amount, reason } = grantCreditsSchema.parse(input);
  const { data, error } = await supabase.rpc('grant_credits', { p_user_id: userId, p_amount: amount, p_reason: reason });
  if (error) throw new Error(error.message);
  return grantResultSchema.parse(data);
}

export function useGrantCreditsMutation(userId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: GrantCreditsInput) => grantCredits(createClient(), userId, input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: userKeys.profile(userId) });
      void queryClient.invalidateQueries({ queryKey: creditKeys.all });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
