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
    .select(`${INCIDENT_COLUMNS},peak_value,detail,acknowledged_by`)
    .eq('id', id)
    .maybeSingle();
  if (error) throw new Error(error.message);
  if (!data) return null;
  const incident = incidentWithDetailSchema.parse(data);
  const [rule, events, deliveries] = await Promise.all([
    supabase.from('alert_rules').select(ALERT_RULE_COLUMNS).eq('id', incident.rule_id).single(),
    // A day of minute values at most: enough for the chart, bounded for a long incident.
    supabase.from('alert_incident_events').select('id,at,kind,value,actor_role,note').eq('incident_id', id).order('id').limit(1500),
    supabase.from('alert_deliveries').select(ALERT_DELIVERY_COLUMNS).eq('incident_id', id).order('id'),
  ]);
  for (const answer of [rule, events, deliveries]) if (answer.error) throw new Error(answer.error.message);
  return {
    incident,
    rule: alertRuleSchema.parse(rule.data),
    events: incidentEventSchema.array().parse(events.data),
    deliveries: alertDeliverySchema.array().parse(deliveries.data),
  };
}

export const incidentQueryOptions = (supabase: DatabaseClient, id: number) =>
  queryOptions({ queryKey: alertKeys.incident(id), queryFn: () => fetchIncident(supabase, id) });

export const useIncident = (id: number) => useQuery(incidentQueryOptions(createClient(), id));
