import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { ALERT_DELIVERY_COLUMNS, alertDeliverySchema, type AlertDelivery } from './alert-schemas';
import { alertKeys } from './keys';

export const DELIVERY_LOG_SIZE = 50;

/** The delivery log: the latest messages to every channel, with their attempts and last answer. */
export async function fetchAlertDeliveries(supabase: DatabaseClient): Promise<AlertDelivery[]> {
  const { data, error } = await supabase
    .from('alert_deliveries')
    .select(ALERT_DELIVERY_COLUMNS)
    .order('id', { ascending: false })
    .limit(DELIVERY_LOG_SIZE);
  if (error) throw new Error(error.message);
  return alertDeliverySchema.array().parse(data);
}

export const alertDeliveriesQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.deliveries(), queryFn: () => fetchAlertDeliveries(supabase) });

export const useAlertDeliveries = () => useQuery(alertDeliveriesQueryOptions(createClient()));
