import { z } from 'zod';
import { ALERT_UNITS, DELIVERY_STATUSES, SEVERITIES } from '@/lib/alerts/alert-schemas';

/**
 * The messages of the private 'admin:alerts' topic, as the alerting triggers build them
 * (alert_incidents_broadcast, alert_deliveries_broadcast). Parsed at the boundary: a malformed
 * message is dropped, never patched into the cache.
 */
export const incidentChangeSchema = z.object({
  id: z.number(),
  rule_id: z.string(),
  subject: z.string(),
  status: z.enum(['open', 'resolved']),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  summary: z.string(),
  unit: z.enum(ALERT_UNITS),
  threshold: z.number(),
  value: z.number().nullable(),
  notify: z.boolean(),
  opened_at: z.string(),
  clear_since: z.string().nullable(),
  resolved_at: z.string().nullable(),
  acknowledged_at: z.string().nullable(),
  updated_at: z.string(),
});
export type IncidentChange = z.infer<typeof incidentChangeSchema>;

export const deliveryChangeSchema = z.object({
  id: z.number(),
  channel_id: z.string(),
  incident_id: z.number().nullable(),
  event: z.enum(['opened', 'resolved', 'test']),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  updated_at: z.string(),
});
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
