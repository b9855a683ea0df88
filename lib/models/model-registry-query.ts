import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { modelKeys } from './keys';

export const registryModelSchema = z.object({
  id: z.string(),
  display_name: z.string(),
  enabled: z.boolean(),
  paused: z.boolean(),
  credits_per_job: z.number().int(),
  rate_per_minute: z.number().int(),
  verification_state: z.enum(['unverified', 'verified', 'failed']),
  verification_detail: z.string().nullable(),
  verified_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
  updated_at: z.string(),
  model_health: z
    .object({ circuit_state: z.enum(['closed', 'open', 'half_open']), consecutive_failures: z.number().int() })
    .nullable(),
} satisfies ColumnsOf<'models', 'model_health'>);
export type RegistryModel = z.infer<typeof registryModelSchema>;

/** The whole registry with each model's circuit (model_health is staff-only by RLS). */
export async function fetchModelRegistry(supabase: DatabaseClient): Promise<RegistryModel[]> {
  const { data, error } = await supabase
    .from('models')
    .select(
      'id,display_name,enabled,paused,credits_per_job,rate_per_minute,verification_state,verification_detail,verified_at,disabled_reason,updated_at,model_health(circuit_state,consecutive_failures)',
    )
    .order('id');
  if (error) throw new Error(error.message);
  return registryModelSchema.array().parse(data);
}

export const modelRegistryQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: modelKeys.registry(), queryFn: () => fetchModelRegistry(supabase) });

export const useModelRegistry = () => useQuery(modelRegistryQueryOptions(createClient()));
