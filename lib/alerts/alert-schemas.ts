import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';

/**
 * The alerting rows as the console reads them (RLS: support and admin only). numeric columns
 * arrive as numbers or strings, bigint ids as numbers; both are coerced once here.
 */
export const SEVERITIES = ['critical', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_UNITS = ['percent', 'minutes', 'jobs', 'ms', 'usd', 'ratio'] as const;
export type AlertUnit = (typeof ALERT_UNITS)[number];

/** The unit an admin types a threshold in (milliseconds are typed as such). */
export const UNIT_LABEL: Record<AlertUnit, string> = {
  percent: '%',
  minutes: 'minutes',
  jobs: 'jobs',
  ms: 'ms',
  usd: 'USD',
  ratio: '× per job',
};

const numeric = z.coerce.number();
const nullableNumeric = z.union([z.null(), z.coerce.number()]);

export const alertRuleSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  scope: z.enum(['global', 'model']),
  unit: z.enum(ALERT_UNITS),
  enabled: z.boolean(),
  severity: z.enum(SEVERITIES),
  threshold: numeric,
  /** Values in words are the database's (private.alert_format_value): 23.8%, 6.5 min, $52.10. */
  threshold_text: z.string(),
  window_minutes: z.number().int().nullable(),
  min_count: z.number().int().nullable(),
  hold_down_minutes: z.number().int(),
  silenced_until: z.string().nullable(),
  silence_reason: z.string().nullable(),
  /** The rule's words for its parameters: "Fires when <threshold_wording> <threshold>". */
  threshold_wording: z.string(),
  /** What window_minutes means for the rule; null when it has none. */
  window_wording: z.string().nullable(),
  /** What min_count counts; null when the rule has none. */
  min_count_wording: z.string().nullable(),
  updated_at: z.string(),
} satisfies ColumnsOf<'alert_rules'>);
export type AlertRule = z.infer<typeof alertRuleSchema>;
export const ALERT_RULE_COLUMNS =
  'id,name,description,scope,unit,enabled,severity,threshold,threshold_text,window_minutes,min_count,hold_down_minutes,silenced_until,silence_reason,threshold_wording,window_wording,min_count_wording,updated_at';

export const incidentSchema = z.object({
  id: z.coerce.number(),
  rule_id: z.string(),
  subject: z.string(),
  status: z.enum(['open', 'resolved']),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  summary: z.string(),
  unit: z.enum(ALERT_UNITS),
  threshold: numeric,
  threshold_text: z.string(),
  value: nullableNumeric,
  value_text: z.string(),
  notify: z.boolean(),
  opened_at: z.string(),
  clear_since: z.string().nullable(),
  resolved_at: z.string().nullable(),
  acknowledged_at: z.string().nullable(),
  updated_at: z.string(),
} satisfies ColumnsOf<'alert_incidents'>);
export type Incident = z.infer<typeof incidentSchema>;
export const INCIDENT_COLUMNS =
  'id,rule_id,subject,status,severity,title,summary,unit,threshold,threshold_text,value,value_text,notify,opened_at,clear_since,resolved_at,acknowledged_at,updated_at';

/** The evidence an incident carries: the jobs and models involved, and the rule's counts. */
export const incidentDetailSchema = z
  .object({
    model_id: z.string().nullable().optional(),
    model_ids: z.array(z.string()).optional(),
    job_ids: z.array(z.string()).optional(),
  })
  .catchall(z.unknown());

export const incidentWithDetailSchema = incidentSchema.extend({
  peak_value: nullableNumeric,
  peak_value_text: z.string(),
  detail: incidentDetailSchema,
  acknowledged_by: z.string().nullable(),
});
export type IncidentWithDetail = z.infer<typeof incidentWithDetailSchema>;

export const INCIDENT_EVENT_KINDS = ['opened', 'value', 'cleared', 'firing_again', 'resolved', 'acknowledged', 'note'] as const;
export const incidentEventSchema = z.object({
  id: z.coerce.number(),
  at: z.string(),
  kind: z.enum(INCIDENT_EVENT_KINDS),
  value: nullableNumeric,
  value_text: z.string().nullable(),
  actor_role: z.string(),
  note: z.string().nullable(),
} satisfies ColumnsOf<'alert_incident_events'>);
export type IncidentEvent = z.infer<typeof incidentEventSchema>;

export const alertChannelSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(['slack', 'webhook']),
  enabled: z.boolean(),
  min_severity: z.enum(SEVERITIES),
  url_hint: z.string(),
  secret_hint: z.string().nullable(),
  created_at: z.string(),
} satisfies ColumnsOf<'alert_channels'>);
export type AlertChannel = z.infer<typeof alertChannelSchema>;
export const ALERT_CHANNEL_COLUMNS = 'id,name,kind,enabled,min_severity,url_hint,secret_hint,created_at';

export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed'] as const;
export const alertDeliverySchema = z.object({
  id: z.coerce.number(),
  channel_id: z.uuid(),
  incident_id: z.union([z.null(), z.coerce.number()]),
  event: z.enum(['opened', 'resolved', 'test']),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  next_attempt_at: z.string(),
  last_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
  alert_channels: z.object({ name: z.string(), kind: z.enum(['slack', 'webhook']) }),
  alert_incidents: z.object({ title: z.string() }).nullable(),
} satisfies ColumnsOf<'alert_deliveries', 'alert_channels' | 'alert_incidents'>);
export type AlertDelivery = z.infer<typeof alertDeliverySchema>;
export const ALERT_DELIVERY_COLUMNS =
  'id,channel_id,incident_id,event,status,attempts,max_attempts,next_attempt_at,last_attempt_at,last_status,last_error,delivered_at,created_at,alert_channels(name,kind),alert_incidents(title)';
