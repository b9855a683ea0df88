import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { healthDocumentSchema, type HealthDocument } from './health-schema';
import { HEALTH_WINDOWS, type HealthWindow } from './health-window';
import { metricsKeys } from './keys';

/** One call to `job_health` (support and admin only; the function checks the role itself). */
export async function fetchHealth(supabase: DatabaseClient, window: HealthWindow): Promise<HealthDocument> {
  const { window: p_window, bucket: p_bucket } = HEALTH_WINDOWS[window];
  const { data, error } = await supabase.rpc('job_health', { p_window, p_bucket });
  if (error) throw new Error(error.message);
  return healthDocumentSchema.parse(data);
}

/**
 * Live changes patch this entry (see health-patch.ts); what events cannot patch is refreshed by
 * an event-triggered refetch, so the entry is never stale by the clock: staleTime Infinity.
 */
export const healthQueryOptions = (supabase: DatabaseClient, window: HealthWindow) =>
  queryOptions({
    queryKey: metricsKeys.healthWindow(window),
    queryFn: () => fetchHealth(supabase, window),
    staleTime: Number.POSITIVE_INFINITY,
  });

export const useHealth = (window: HealthWindow) => useQuery(healthQueryOptions(createClient(), window));
