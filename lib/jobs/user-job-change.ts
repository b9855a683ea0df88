import { z } from 'zod';
import { jobResultSchema } from '../../supabase/functions/_shared/job-result.ts';
import { JOB_STATUSES } from './job-schema';

/**
 * The messages of the private topic 'user:<user_id>:jobs', as the jobs triggers and the credits
 * ledger build them (supabase/migrations, realtime topics). Parsed at the boundary: a malformed
 * message is dropped, never patched into the cache.
 */
export const userJobChangeSchema = z.object({
  id: z.uuid(),
  status: z.enum(JOB_STATUSES),
  old_status: z.enum(JOB_STATUSES).nullable(),
  stage: z.string().nullable(),
  progress: z.number().int(),
  attempt: z.number().int(),
  error_class: z.string().nullable(),
  result: jobResultSchema.nullable(),
  /** Credits the ledger returned for the job's current charge; 0 if none. */
  refunded: z.number().int(),
  updated_at: z.string(),
});
export type UserJobChange = z.infer<typeof userJobChangeSchema>;

export const creditsChangeSchema = z.object({ balance: z.coerce.number() });

export const USER_TOPIC_EVENTS = { jobChanged: 'job_changed', creditsChanged: 'credits_changed' } as const;

export const userTopic = (userId: string) => `user:${userId}:jobs`;

export function parseUserJobChange(payload: unknown): UserJobChange | null {
  const parsed = userJobChangeSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}
