import { z } from 'zod';
import { JOB_STATUSES } from '@/lib/jobs/job-schema';

export const ADMIN_JOBS_TOPIC = 'admin:jobs';
export const ADMIN_JOBS_EVENT = 'job_changed';

/**
 * One message of the private 'admin:jobs' topic (event 'job_changed'), as the jobs broadcast
 * trigger builds it: a key whose value is null is left out of the message (it is written to
 * realtime.messages for every job), and read here as null. Parsed at the boundary: a malformed
 * message is dropped, never patched into the cache.
 */
export const adminJobChangeSchema = z.object({
  id: z.uuid(),
  model_id: z.string(),
  status: z.enum(JOB_STATUSES),
  old_status: z.enum(JOB_STATUSES).nullable().default(null),
  attempt: z.number().int(),
  progress: z.number().nullable().default(null),
  stage: z.string().nullable().default(null),
  error_class: z.string().nullable().default(null),
  updated_at: z.string(),
});

export type AdminJobChange = z.infer<typeof adminJobChangeSchema>;

export function parseAdminJobChange(payload: unknown): AdminJobChange | null {
  const parsed = adminJobChangeSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}
