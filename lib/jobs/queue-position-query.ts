import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { createClient } from '@/lib/supabase/client';
import { jobKeys } from './keys';

/** The answer of job_queue_position (see its migration): counts only, never other users' rows. */
export const queuePositionSchema = z.object({
  job_id: z.uuid(),
  model_id: z.string(),
  status: z.string(),
  /** Jobs of the same model a worker claims first; null unless the job is queued. At most 1000. */
  ahead: z.number().int().nonnegative().nullable(),
  ahead_capped: z.boolean(),
  running: z.number().int().nonnegative(),
  model_paused: z.boolean(),
  latency_p50_ms: z.number().nonnegative().nullable(),
  latency_calls: z.number().int().nonnegative(),
});
export type QueuePosition = z.infer<typeof queuePositionSchema>;

/** Null when the job is gone or not the caller's (the function answers both the same way). */
export async function fetchQueuePosition(supabase: DatabaseClient, jobId: string): Promise<QueuePosition | null> {
  const { data, error } = await supabase.rpc('job_queue_position', { p_job_id: jobId });
  if (error) throw new Error(error.message);
  return data === null ? null : queuePositionSchema.parse(data);
}

export const queuePositionQueryOptions = (supabase: DatabaseClient, jobId: string) =>
  queryOptions({
    queryKey: jobKeys.queuePosition(jobId),
    queryFn: () => fetchQueuePosition(supabase, jobId),
    // Kept fresh by the queue signal and the job's own changes, never by a timer.
    staleTime: Number.POSITIVE_INFINITY,
  });

/** Asked only while the job is waiting or running: a finished job has no position or ETA. */
export const useQueuePosition = (jobId: string, enabled: boolean) =>
  useQuery({ ...queuePositionQueryOptions(createClient(), jobId), enabled });
