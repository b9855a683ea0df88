import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { alertKeys } from './keys';

export const evaluationStateSchema = z.object({
  last_finished_at: z.string().nullable(),
  last_duration_ms: z.union([z.null(), z.coerce.number()]),
} satisfies ColumnsOf<'alert_evaluation_state'>);
export type EvaluationState = z.infer<typeof evaluationStateSchema>;

/** When the rules were last evaluated (every minute while the schedule runs), and how long it took. */
export async function fetchEvaluationState(supabase: DatabaseClient): Promise<EvaluationState | null> {
  const { data, error } = await supabase.from('alert_evaluation_state').select('last_finished_at,last_duration_ms').maybeSingle();
  if (error) throw new Error(error.message);
  return data ? evaluationStateSchema.parse(data) : null;
}

export const evaluationStateQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.evaluation(), queryFn: () => fetchEvaluationState(supabase) });

export const useEvaluationState = () => useQuery(evaluationStateQueryOptions(createClient()));
