import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { SupabaseClient } from '@supabase/supabase-js';
import { auditKeys } from '@/lib/audit/keys';
import { parseReason } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { alertKeys } from './keys';

/** What an admin does to an incident; each is one audited SQL function. */
export const INCIDENT_ACTIONS = {
  acknowledge: {
    label: 'Acknowledge',
    effect: 'Marks the incident as being handled. It stays open until its condition clears; nothing more is sent for it either way.',
    rpc: 'acknowledge_alert_incident',
    param: 'p_reason',
  },
  note: {
    label: 'Add note',
    effect: 'Adds a note to the incident’s timeline (and the audit log): what was found, what was done.',
    rpc: 'add_alert_incident_note',
    param: 'p_note',
  },
} as const;
export type IncidentAction = keyof typeof INCIDENT_ACTIONS;

export async function runIncidentAction(supabase: SupabaseClient, input: { action: IncidentAction; incidentId: number; text: string }): Promise<void> {
  const spec = INCIDENT_ACTIONS[input.action];
  const { error } = await supabase.rpc(spec.rpc, { p_incident_id: input.incidentId, [spec.param]: parseReason(input.text) });
  if (error) throw new Error(error.message);
}

export function useIncidentAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: { action: IncidentAction; incidentId: number; text: string }) => runIncidentAction(createClient(), input),
    onSuccess: (_, input) => {
      void queryClient.invalidateQueries({ queryKey: alertKeys.incident(input.incidentId) });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
