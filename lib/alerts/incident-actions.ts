import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { auditKeys } from '@/lib/audit/keys';
import { parseReason } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { alertKeys } from './keys';

/** What an admin does to an incident; each is one audited SQL function. */
export const INCIDENT_ACTIONS = {
  acknowledge: {
    label: 'Acknowledge',
    effect: 'Marks the incident as being handled. It stays open until its condition clears; nothing more is sent for it either way.',
    text: 'reason',
  },
  note: {
    label: 'Add note',
    effect: 'Adds a note to the incident’s timeline (and the audit log): what was found, what was done.',
    text: 'note',
  },
} as const;
export type IncidentAction = keyof typeof INCIDENT_ACTIONS;

export async function runIncidentAction(supabase: DatabaseClient, input: { action: IncidentAction; incidentId: number; text: string }): Promise<void> {
  const text = parseReason(input.text, INCIDENT_ACTIONS[input.action].text);
  const { error } =
    input.action === 'acknowledge'
      ? await supabase.rpc('acknowledge_alert_incident', { p_incident_id: input.incidentId, p_reason: text })
      : await supabase.rpc('add_alert_incident_note', { p_incident_id: input.incidentId, p_note: text });
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
