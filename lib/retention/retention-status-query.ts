import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { createClient } from '@/lib/supabase/client';
import { retentionKeys } from './keys';

export const retentionPolicySchema = z.object({
  kind: z.string(),
  label: z.string(),
  /** Null: the window is off and nothing of this kind is removed (only where the default is off). */
  keep_days: z.number().int().nullable(),
  min_days: z.number().int(),
  max_days: z.number().int(),
  default_days: z.number().int().nullable(),
  updated_at: z.string(),
  last_pruned_at: z.string().nullable(),
  last_prune_ms: z.number().nullable(),
  last_prune_rows: z.number().nullable(),
  last_prune_cutoff: z.string().nullable(),
  last_prune_error: z.string().nullable(),
});
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** A window may be off only where its default is off (the result images'): set_retention_window's rule. */
export const mayBeOff = (policy: Pick<RetentionPolicy, 'default_days'>) => policy.default_days === null;

export const retentionTableSchema = z.object({
  relation: z.string(),
  /** 'kept' (never pruned), 'realtime' (Realtime drops it), or the policy kind that prunes it. */
  kind: z.string(),
  bytes: z.number(),
  rows: z.number(),
  oldest: z.string().nullable(),
  bytes_per_day: z.number().nullable(),
  rows_per_day: z.number().nullable(),
});
export type RetentionTable = z.infer<typeof retentionTableSchema>;

export const retentionStatusSchema = z.object({
  generated_at: z.string(),
  policies: z.array(retentionPolicySchema),
  tables: z.array(retentionTableSchema),
});
export type RetentionStatus = z.infer<typeof retentionStatusSchema>;

/** retention_status(): sizes, windows and the last pass (20261207300200_retention.sql). */
export async function fetchRetentionStatus(supabase: DatabaseClient): Promise<RetentionStatus> {
  const { data, error } = await supabase.rpc('retention_status');
  if (error) throw new Error(error.message);
  return retentionStatusSchema.parse(data);
}

export const retentionStatusQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: retentionKeys.status(), queryFn: () => fetchRetentionStatus(supabase) });

export const useRetentionStatus = () => useQuery(retentionStatusQueryOptions(createClient()));
