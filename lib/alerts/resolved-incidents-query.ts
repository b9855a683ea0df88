import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { INCIDENT_COLUMNS, incidentSchema, type Incident } from './alert-schemas';
import { RESOLVED_INCIDENTS } from './incidents-patch';
import { alertKeys } from './keys';

/**
 * The latest resolved incidents, newest first (the Incidents page's second list; its first is
 * every open incident, the banner's query).
 */
export async function fetchResolvedIncidents(supabase: DatabaseClient): Promise<Incident[]> {
  const { data, error } = await supabase
    .from('alert_incidents')
    .select(INCIDENT_COLUMNS)
    .eq('status', 'resolved')
    .order('opened_at', { ascending: false })
    .order('id', { ascending: false })
    .limit(RESOLVED_INCIDENTS);
  if (error) throw new Error(error.message);
  return incidentSchema.array().parse(data);
}

export const resolvedIncidentsQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.resolvedIncidents(), queryFn: () => fetchResolvedIncidents(supabase), staleTime: Infinity });

export const useResolvedIncidents = () => useQuery(resolvedIncidentsQueryOptions(createClient()));
