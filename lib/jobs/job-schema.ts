import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { jobResultSchema } from '../../supabase/functions/_shared/job-result.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The columns an end user's pages show. The same shape arrives from REST and from a
 * postgres_changes event, so both are parsed by this one schema.
 */
export const jobSchema = z.object({
  id: z.uuid(),
  user_id: z.uuid(),
  model_id: z.string(),
  prompt: z.string(),
  options: z.record(z.string(), z.unknown()).default({}),
  status: z.enum(JOB_STATUSES),
  attempt: z.number().int(),
  max_attempts: z.number().int(),
  credits_cost: z.number().int(),
  progress: z.number().int(),
  stage: z.string().nullable(),
  result: jobResultSchema.nullable(),
  error_class: z.string().nullable(),
  error_message: z.string().nullable(),
  run_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  // When the current attempt was claimed: the start of the running ETA. Optional so a cached
  // row from before the column was selected still parses.
  attempted_at: z.string().nullable().default(null),
  finished_at: z.string().nullable(),
  // When its owner deleted its content (prompt, image): the row stays as the record of a charge.
  content_deleted_at: z.string().nullable().default(null),
  // When the result-image retention window removed its image (result is null from then on).
  image_expired_at: z.string().nullable().default(null),
} satisfies ColumnsOf<'jobs'>);

export type Job = z.infer<typeof jobSchema>;

/** The select list matching jobSchema: never `*`, so internal columns (lease token) stay out of pages. */
export const JOB_COLUMNS =
  'id,user_id,model_id,prompt,options,status,attempt,max_attempts,credits_cost,progress,stage,result,error_class,error_message,run_at,created_at,updated_at,attempted_at,finished_at,content_deleted_at,image_expired_at';

export const isTerminal = (status: JobStatus) => status === 'succeeded' || status === 'failed' || status === 'cancelled';

/**
 * The stage delete_job writes: the job_changed message of a deletion carries it, so the owner's
 * tabs drop the card from that message alone.
 */
export const DELETED_STAGE = 'deleted';

/** Anything that is a snapshot of one job row: the owner's job, a gallery card, a console row. */
export interface JobSnapshot {
  id: string;
  updated_at: string;
}

/**
 * The one rule for every cache that holds jobs: a cached job is only ever replaced by a snapshot
 * at least as new (its row's updated_at, which every change of the row moves). Live messages and
 * fetches cross: a fetch that read the row before a change can answer after the change's message
 * was applied, and an older row must never overwrite a newer one (the page would stay at
 * "Storing" after "succeeded", with no later message to correct it). On a tie the incoming
 * snapshot wins: a fetch of the same version carries columns a message leaves out.
 */
export function mergeJob<T extends JobSnapshot>(current: T | null | undefined, incoming: T): T {
  if (current && Date.parse(current.updated_at) > Date.parse(incoming.updated_at)) return current;
  return incoming;
}

/** The same rule row by row: each incoming row the cache holds a newer version of stays as cached. */
export function mergeJobRows<T extends JobSnapshot>(current: readonly T[], incoming: readonly T[]): T[] {
  if (current.length === 0) return [...incoming];
  const cached = new Map(current.map((row) => [row.id, row]));
  return incoming.map((row) => mergeJob(cached.get(row.id), row));
}
