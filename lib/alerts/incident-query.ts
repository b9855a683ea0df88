import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import {
  ALERT_DELIVERY_COLUMNS,
  ALERT_RULE_COLUMNS,
  alertDeliverySchema,
  alertRuleSchema,
  INCIDENT_COLUMNS,
  incidentEventSchema,
  incidentWithDetailSchema,
  type AlertDelivery,
  type AlertRule,
  type IncidentEvent,
  type IncidentWithDetail,
} from './alert-schemas';
import { alertKeys } from './keys';

/**
 * The values an incident's page reads: the latest day of minute evaluations, enough for the chart
 * and bounded for an incident open for days. Every other event (opened, cleared, notes, resolved)
 * is read whole: there are few.
 */
export const INCIDENT_VALUES_SHOWN = 1440;

const EVENT_COLUMNS = 'id,at,kind,value,value_text,actor_role,note';

export interface IncidentStory {
  incident: IncidentWithDetail;
  rule: AlertRule;
  /** Oldest first: opened, every evaluation's value, clears, staff actions, resolved. */
  events: IncidentEvent[];
  deliveries: AlertDelivery[];
}

/** One incident with its rule, its timeline and its messages; null when there is no such incident. */
export async function fetchIncident(supabase: DatabaseClient, id: number): Promise<IncidentStory | null> {
  const { data, error } = await supabase
    .from('alert_incidents')
    .select(`${INCIDENT_COLUMNS},peak_value,peak_value_text,detail,acknowledged_by`)
    .eq('id', id)
    .maybeSingle();
  if (error) throw new Error(error.message);
  if (!data) return null;
  const incident = incidentWithDetailSchema.parse(data);
  const events = () => supabase.from('alert_incident_events').select(EVENT_COLUMNS).eq('incident_id', id);
  const [rule, milestones, values, deliveries] = await Promise.all([
    supabase.from('alert_rules').select(ALERT_RULE_COLUMNS).eq('id', incident.rule_id).single(),
    events().neq('kind', 'value').order('id'),
    // The newest values, not the oldest: a long incident's page shows where it is now.
    events().eq('kind', 'value').order('id', { ascending: false }).limit(INCIDENT_VALUES_SHOWN),
    supabase.from('alert_deliveries').select(ALERT_DELIVERY_COLUMNS).eq('incident_id', id).order('id'),
  ]);
  for (const answer of [rule, milestones, values, deliveries]) if (answer.error) throw new Error(answer.error.message);
  const timeline = [...incidentEventSchema.array().parse(milestones.data), ...incidentEventSchema.array().parse(values.data)].sort((a, b) => a.id - b.id);
  return {
    incident,
    rule: alertRuleSchema.parse(rule.data),
    events: timeline,
    deliveries: alertDeliverySchema.array().parse(deliveries.data),
  };
}

export const incidentQueryOptions = (supabase: DatabaseClient, id: number) =>
  queryOptions({ queryKey: alertKeys.incident(id), queryFn: () => fetchIncident(supabase, id) });

export const useIncident = (id: number) => useQuery(incidentQueryOptions(createClient(), id));
