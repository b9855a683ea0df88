import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { auditKeys } from '@/lib/audit/keys';
import { parseReason, reasonSchema } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { SEVERITIES } from './alert-schemas';
import { alertKeys } from './keys';

/** A rule edit as the form sends it; what is left out stays as it is. Same limits as update_alert_rule. */
export const ruleEditSchema = z.object({
  ruleId: z.string().min(1),
  reason: reasonSchema,
  enabled: z.boolean().optional(),
  severity: z.enum(SEVERITIES).optional(),
  threshold: z.number({ message: 'The threshold is a number' }).min(0, 'The threshold is 0 or more').max(1_000_000_000).optional(),
  windowMinutes: z.number({ message: 'The window is a number of minutes' }).int('Whole minutes').min(1, 'At least 1 minute').max(1440, 'At most 1440 minutes (a day)').optional(),
  minCount: z.number({ message: 'The minimum is a number' }).int('A whole number').min(0).max(1_000_000).optional(),
  holdDownMinutes: z.number({ message: 'The hold-down is a number of minutes' }).int('Whole minutes').min(0).max(1440, 'At most 1440 minutes').optional(),
});
export type RuleEdit = z.infer<typeof ruleEditSchema>;

export async function updateAlertRule(supabase: DatabaseClient, input: RuleEdit): Promise<void> {
  const edit = ruleEditSchema.parse(input);
  const { error } = await supabase.rpc('update_alert_rule', {
    p_rule_id: edit.ruleId,
    p_reason: edit.reason,
    p_enabled: edit.enabled,
    p_severity: edit.severity,
    p_threshold: edit.threshold,
    p_window_minutes: edit.windowMinutes,
    p_min_count: edit.minCount,
    p_hold_down_minutes: edit.holdDownMinutes,
  });
  if (error) throw new Error(error.message);
}

/** How long a silence can be chosen for, in minutes; 0 lifts it. */
export const SILENCE_CHOICES = [
  { minutes: 30, label: '30 minutes' },
  { minutes: 60, label: '1 hour' },
  { minutes: 240, label: '4 hours' },
  { minutes: 1440, label: '1 day' },
] as const;

export async function silenceAlertRule(supabase: DatabaseClient, input: { ruleId: string; minutes: number; reason: string }): Promise<void> {
  const { error } = await supabase.rpc('silence_alert_rule', {
    p_rule_id: input.ruleId,
    p_minutes: input.minutes,
    p_reason: parseReason(input.reason),
  });
  if (error) throw new Error(error.message);
}

function useInvalidateRules() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: alertKeys.rules() });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
  };
}

export function useUpdateAlertRule() {
  const onSuccess = useInvalidateRules();
  return useMutation({ mutationFn: (input: RuleEdit) => updateAlertRule(createClient(), input), onSuccess });
}

export function useSilenceAlertRule() {
  const onSuccess = useInvalidateRules();
  return useMutation({
    mutationFn: (input: { ruleId: string; minutes: number; reason: string }) => silenceAlertRule(createClient(), input),
    onSuccess,
  });
}
