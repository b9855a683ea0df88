import { z } from 'zod';
import { alertDeliverySchema, incidentSchema } from './alert-schemas';

export const ADMIN_ALERTS_TOPIC = 'admin:alerts';

/**
 * The messages of the private 'admin:alerts' topic, as the alerting triggers build them
 * (alert_incidents_broadcast, alert_deliveries_broadcast). Parsed at the boundary: a malformed
 * message is dropped, never patched into the cache. An incident is sent as the console reads
 * it over REST.
 */
export const incidentChangeSchema = incidentSchema;
export type IncidentChange = z.infer<typeof incidentChangeSchema>;

// A delivery's state, without the joined channel and incident the log reads alongside it.
export const deliveryChangeSchema = alertDeliverySchema.pick({
  id: true,
  channel_id: true,
  incident_id: true,
  event: true,
  status: true,
  attempts: true,
  last_status: true,
  last_error: true,
  delivered_at: true,
}).extend({ updated_at: z.string() });
export type DeliveryChange = z.infer<typeof deliveryChangeSchema>;

export type AdminAlertChange = { event: 'incident_changed'; change: IncidentChange } | { event: 'delivery_changed'; change: DeliveryChange };

export function parseAdminAlertChange(event: string, payload: unknown): AdminAlertChange | null {
  if (event === 'incident_changed') {
    const parsed = incidentChangeSchema.safeParse(payload);
    return parsed.success ? { event, change: parsed.data } : null;
  }
  if (event === 'delivery_changed') {
    const parsed = deliveryChangeSchema.safeParse(payload);
    return parsed.success ? { event, change: parsed.data } : null;
  }
  return null;
}
