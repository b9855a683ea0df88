import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { ALERT_CHANNEL_COLUMNS, alertChannelSchema, type AlertChannel } from './alert-schemas';
import { alertKeys } from './keys';

/** The live channels, with hints of their URL and secret (the values never leave the database). */
export async function fetchAlertChannels(supabase: DatabaseClient): Promise<AlertChannel[]> {
  const { data, error } = await supabase.from('alert_channels').select(ALERT_CHANNEL_COLUMNS).is('deleted_at', null).order('name');
  if (error) throw new Error(error.message);
  return alertChannelSchema.array().parse(data);
}

export const alertChannelsQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.channels(), queryFn: () => fetchAlertChannels(supabase) });

export const useAlertChannels = () => useQuery(alertChannelsQueryOptions(createClient()));
