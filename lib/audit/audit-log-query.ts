import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { AUDIT_COLUMNS, auditEntrySchema, type AuditEntry } from './audit-entry-schema';
import { AUDIT_PAGE_SIZE, type AuditFilters } from './audit-filters';
import { auditKeys } from './keys';

export interface AuditPage {
  rows: AuditEntry[];
  hasNextPage: boolean;
}

/** A page of the audit log, newest first (audit_log_at_idx); one extra row tells whether there is a next page. */
export async function fetchAuditPage(supabase: DatabaseClient, filters: AuditFilters): Promise<AuditPage> {
  let query = supabase.from('audit_log').select(AUDIT_COLUMNS);
  if (filters.actor) query = query.eq('actor_id', filters.actor);
  if (filters.action) query = query.eq('action', filters.action);
  if (filters.target) query = query.or(`target_user_id.eq.${filters.target},job_ids.cs.{${filters.target}}`);
  if (filters.from) query = query.gte('at', filters.from);
  if (filters.to) query = query.lt('at', filters.to);
  const start = (filters.page - 1) * AUDIT_PAGE_SIZE;
  const { data, error } = await query.order('at', { ascending: false }).order('id', { ascending: false }).range(start, start + AUDIT_PAGE_SIZE);
  if (error) throw new Error(error.message);
  const rows = auditEntrySchema.array().parse(data);
  return { rows: rows.slice(0, AUDIT_PAGE_SIZE), hasNextPage: rows.length > AUDIT_PAGE_SIZE };
}

export const auditPageQueryOptions = (supabase: DatabaseClient, filters: AuditFilters) =>
  queryOptions({ queryKey: auditKeys.list(filters), queryFn: () => fetchAuditPage(supabase, filters) });

export const useAuditPage = (filters: AuditFilters) =>
  useQuery({ ...auditPageQueryOptions(createClient(), filters), placeholderData: keepPreviousData });
