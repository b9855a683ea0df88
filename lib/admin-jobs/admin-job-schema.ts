import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { jobResultSchema } from '../../supabase/functions/_shared/job-result.ts';
import { JOB_STATUSES } from '@/lib/jobs/job-schema';

/** A row of the explorer: what the table shows, nothing more (no prompt beyond a preview). */
export const adminJobRowSchema = z.object({
  id: z.uuid(),
  user_id: z.uuid(),
  model_id: z.string(),
  prompt: z.string(),
  status: z.enum(JOB_STATUSES),
  attempt: z.number().int(),
  max_attempts: z.number().int(),
  progress: z.number().int(),
  stage: z.string().nullable(),
  error_class: z.string().nullable(),
  credits_cost: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
} satisfies ColumnsOf<'jobs'>);
export type AdminJobRow = z.infer<typeof adminJobRowSchema>;
export const ADMIN_JOB_ROW_COLUMNS =
  'id,user_id,model_id,prompt,status,attempt,max_attempts,progress,stage,error_class,credits_cost,created_at,updated_at';

/** Everything the job detail page shows about the job itself (still no lease token). */
export const adminJobSchema = adminJobRowSchema.extend({
  options: z.record(z.string(), z.unknown()).default({}),
  priority: z.number().int(),
  run_at: z.string(),
  charge_seq: z.number().int(),
  worker_id: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  result: jobResultSchema.nullable(),
  error_message: z.string().nullable(),
  errors: z.array(z.record(z.string(), z.unknown())).default([]),
  deadline_at: z.string(),
  attempted_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  // When its owner (or the account's deletion) erased its prompt and images; the row stays.
  content_deleted_at: z.string().nullable().default(null),
  // The job's W3C trace context (docs/tracing.md); null for jobs from before traces.
  traceparent: z.string().nullable().default(null),
  // When the result-image retention window erased its images (result is null from then on).
  image_expired_at: z.string().nullable().default(null),
});
export type AdminJob = z.infer<typeof adminJobSchema>;
export const ADMIN_JOB_COLUMNS = `${ADMIN_JOB_ROW_COLUMNS},options,priority,run_at,charge_seq,worker_id,lease_expires_at,result,error_message,errors,deadline_at,attempted_at,finished_at,content_deleted_at,traceparent,image_expired_at`;
