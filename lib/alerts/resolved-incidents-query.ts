import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { INCIDENT_COLUMNS, incidentSchema, type Incident } from './alert-schemas';
import { RECENT_INCIDENTS } from './incidents-patch';
import { alertKeys } from './keys';

/** The latest incidents, open and resolved, newest first (the Incidents page). */
export async function fetchRecentIncidents(supabase: DatabaseClient): Promise<Incident[]> {
  const { data, error } = await supabase
    .from('alert_incidents')
    .select(INCIDENT_COLUMNS)
    .order('opened_at', { ascending: false })
    .order('id', { ascending: false })
    .limit(RECENT_INCIDENTS);
  if (error) throw new Error(error.message);
  return incidentSchema.array().parse(data);
}

export const recentIncidentsQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.recentIncidents(), queryFn: () => fetchRecentIncidents(supabase), staleTime: Infinity });

export const useRecentIncidents = () => useQuery(recentIncidentsQueryOptions(createClient()));
