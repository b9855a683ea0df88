import { z } from 'zod';
import { JOB_STATUSES, jobSchema } from '@/lib/jobs/job-schema';

export const ADMIN_JOBS_TOPIC = 'admin:jobs';
export const ADMIN_JOBS_EVENT = 'jobs_changed';

const status = z.enum(JOB_STATUSES);

/**
 * One job's entry in an 'admin:jobs' message, in the order the database writes it
 * (private.admin_job_entry): [id, model_id, status, old_status, attempt, progress, stage,
 * error_class, updated_at as milliseconds since the epoch]. An array, not an object, because every
 * statement that changes jobs writes one message holding an entry per job, and keys repeated per
 * job were most of its bytes. The columns' types are the row's (lib/jobs/job-schema.ts).
 */
const adminJobEntrySchema = z
  .tuple([
    jobSchema.shape.id,
    jobSchema.shape.model_id,
    status,
    status.nullable(),
    jobSchema.shape.attempt,
    z.number().int().nullable(),
    jobSchema.shape.stage,
    jobSchema.shape.error_class,
    z.number().int(),
  ])
  .transform(([id, model_id, status, old_status, attempt, progress, stage, error_class, updatedAtMs]) => ({
    id,
    model_id,
    status,
    old_status,
    attempt,
    progress,
    stage,
    error_class,
    // The row's updated_at as the cache holds it (an ISO string); mergeJob compares milliseconds.
    updated_at: new Date(updatedAtMs).toISOString(),
  }));

/**
 * A message of the private 'admin:jobs' topic (event 'jobs_changed'): the changes one statement
 * made (a new job, a claim of many, a completion of many, a bulk action), at most 200 a message.
 * Parsed at the boundary: a malformed message is dropped whole, never patched into the cache.
 */
export const adminJobsChangedSchema = z.object({ jobs: z.array(adminJobEntrySchema) });

/** One job's change as the console merges it: the row's live columns and the status it left. */
export type AdminJobChange = z.output<typeof adminJobEntrySchema>;

export function parseAdminJobChanges(payload: unknown): AdminJobChange[] {
  const parsed = adminJobsChangedSchema.safeParse(payload);
  return parsed.success ? parsed.data.jobs : [];
}
