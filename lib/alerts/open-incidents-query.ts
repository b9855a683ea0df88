import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { INCIDENT_COLUMNS, incidentSchema, type Incident } from './alert-schemas';
import { byUrgency } from './incidents-patch';
import { alertKeys } from './keys';

/** Every open incident, most urgent first: what the banner on every admin page shows. */
export async function fetchOpenIncidents(supabase: DatabaseClient): Promise<Incident[]> {
  const { data, error } = await supabase.from('alert_incidents').select(INCIDENT_COLUMNS).eq('status', 'open').limit(200);
  if (error) throw new Error(error.message);
  return incidentSchema.array().parse(data).sort(byUrgency);
}

// Kept fresh by the admin:alerts topic, not by refetching.
export const openIncidentsQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.openIncidents(), queryFn: () => fetchOpenIncidents(supabase), staleTime: Infinity });

export const useOpenIncidents = () => useQuery(openIncidentsQueryOptions(createClient()));
