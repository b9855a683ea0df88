import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { auditKeys } from '@/lib/audit/keys';
import { reasonSchema } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { retentionKeys } from './keys';

/**
 * A window change as the form sends it; the kind's bounds are checked by the database. days null
 * turns off a window that may be off (the result images'); any other window refuses it.
 */
export const setWindowSchema = z.object({
  kind: z.string().min(1),
  days: z.number({ error: 'Enter a number of days' }).int('Enter a whole number of days').positive('Enter a number of days').nullable(),
  reason: reasonSchema,
});
export type SetWindowInput = z.infer<typeof setWindowSchema>;

/** set_retention_window: admins only, audited; outside the kind's bounds it changes nothing. */
export async function setRetentionWindow(supabase: DatabaseClient, input: SetWindowInput): Promise<void> {
  const { kind, days, reason } = setWindowSchema.parse(input);
  // The generated types mark every argument non-null; the function takes null as "off".
  const { error } = await supabase.rpc('set_retention_window', { p_kind: kind, p_days: days as number, p_reason: reason });
  if (error) throw new Error(error.message);
}

export function useSetRetentionWindow() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: SetWindowInput) => setRetentionWindow(createClient(), input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: retentionKeys.all });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
