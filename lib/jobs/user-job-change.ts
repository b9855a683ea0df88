import { z } from 'zod';
import { jobResultSchema } from '../../supabase/functions/_shared/job-result.ts';
import { JOB_STATUSES } from './job-schema';

/**
 * The messages of the private topic 'user:<user_id>:jobs', as the jobs triggers and the credits
 * ledger build them (supabase/migrations, realtime topics). A job_changed message leaves out
 * every key whose value is null, and "refunded" while it is 0 (each message is a row of
 * realtime.messages): read here as null and 0. Parsed at the boundary: a malformed message is
 * dropped, never patched into the cache.
 */
export const userJobChangeSchema = z.object({
  id: z.uuid(),
  status: z.enum(JOB_STATUSES),
  old_status: z.enum(JOB_STATUSES).nullable().default(null),
  stage: z.string().nullable().default(null),
  progress: z.number().int(),
  attempt: z.number().int(),
  error_class: z.string().nullable().default(null),
  result: jobResultSchema.nullable().default(null),
  /** Credits the ledger returned for the job's current charge; 0 if none. */
  refunded: z.number().int().default(0),
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
