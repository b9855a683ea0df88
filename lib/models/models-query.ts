import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { modelKeys } from './keys';

export const modelOptionSchema = z.object({
  id: z.string(),
  display_name: z.string(),
  credits_per_job: z.number().int(),
  enabled: z.boolean(),
  paused: z.boolean(),
} satisfies ColumnsOf<'models'>);
export type ModelOption = z.infer<typeof modelOptionSchema>;

/**
 * The registry as the create form needs it. Disabled models are listed too (marked, not
 * selectable) so a model switched off since yesterday explains itself instead of vanishing.
 */
export async function fetchModels(supabase: DatabaseClient): Promise<ModelOption[]> {
  const { data, error } = await supabase
    .from('models')
    .select('id,display_name,credits_per_job,enabled,paused')
    .order('credits_per_job')
    .order('id');
  if (error) throw new Error(error.message);
  return modelOptionSchema.array().parse(data);
}

export const modelsQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: modelKeys.available(), queryFn: () => fetchModels(supabase), staleTime: 5 * 60_000 });

export const useModels = () => useQuery(modelsQueryOptions(createClient()));
