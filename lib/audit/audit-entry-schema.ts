import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';

/** One audit_log row as the console shows it. bigint columns arrive as numbers or strings. */
export const auditEntrySchema = z.object({
  id: z.coerce.number(),
  at: z.string(),
  actor_id: z.uuid().nullable(),
  actor_role: z.string(),
  action: z.string(),
  job_ids: z.array(z.uuid()),
  target_user_id: z.uuid().nullable(),
  reason: z.string(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  credits_moved: z.coerce.number(),
  detail: z.record(z.string(), z.unknown()),
} satisfies ColumnsOf<'audit_log'>);
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const AUDIT_COLUMNS = 'id,at,actor_id,actor_role,action,job_ids,target_user_id,reason,before,after,credits_moved,detail';

/** The actions the SQL API writes, for the filter's choices. */
export const AUDIT_ACTIONS = [
  'fail_and_refund_jobs',
  'retry_jobs',
  'requeue_jobs',
  'cancel_jobs',
  'grant_credits',
  'disable_model',
  'enable_model',
  'pause_model',
  'resume_model',
  'verify_model',
  'update_alert_rule',
  'silence_alert_rule',
  'unsilence_alert_rule',
  'acknowledge_incident',
  'note_incident',
  'create_alert_channel',
  'update_alert_channel',
  'delete_alert_channel',
  'test_alert_channel',
] as const;
