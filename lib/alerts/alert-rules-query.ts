import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { ALERT_RULE_COLUMNS, alertRuleSchema, type AlertRule } from './alert-schemas';
import { alertKeys } from './keys';

export async function fetchAlertRules(supabase: DatabaseClient): Promise<AlertRule[]> {
  const { data, error } = await supabase.from('alert_rules').select(ALERT_RULE_COLUMNS).order('severity').order('name');
  if (error) throw new Error(error.message);
  return alertRuleSchema.array().parse(data);
}

export const alertRulesQueryOptions = (supabase: DatabaseClient) =>
  queryOptions({ queryKey: alertKeys.rules(), queryFn: () => fetchAlertRules(supabase) });

export const useAlertRules = () => useQuery(alertRulesQueryOptions(createClient()));
