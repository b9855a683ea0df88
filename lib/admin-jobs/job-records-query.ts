import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';
import { AUDIT_COLUMNS, auditEntrySchema, type AuditEntry } from '@/lib/audit/audit-entry-schema';
import { LEDGER_COLUMNS, ledgerEntrySchema, type LedgerEntry } from '@/lib/credits/ledger-entry-schema';
import { createClient } from '@/lib/supabase/client';
import { adminJobKeys } from './keys';

export const jobEventSchema = z.object({
  id: z.coerce.number(),
  at: z.string(),
  from_status: z.string().nullable(),
  to_status: z.string(),
  attempt: z.number().int(),
  actor_id: z.uuid().nullable(),
  actor_role: z.string(),
  detail: z.record(z.string(), z.unknown()),
} satisfies ColumnsOf<'job_events'>);
export type JobEvent = z.infer<typeof jobEventSchema>;

export const providerCallSchema = z.object({
  id: z.coerce.number(),
  attempt: z.number().int().nullable(),
  model_id: z.string(),
  worker_id: z.string().nullable(),
  started_at: z.string(),
  duration_ms: z.number().int(),
  http_status: z.number().int().nullable(),
  outcome: z.string(),
  retry_after_ms: z.number().int().nullable(),
  cost_usd: z.coerce.number(),
} satisfies ColumnsOf<'provider_calls'>);
export type ProviderCall = z.infer<typeof providerCallSchema>;

const retentionEdgeSchema = z.object({
  kind: z.enum(['job_events', 'provider_calls']),
  keep_days: z.number().int(),
  last_prune_cutoff: z.string().nullable(),
} satisfies ColumnsOf<'retention_policies'>);
export type RetentionEdge = z.infer<typeof retentionEdgeSchema>;

export interface JobRecords {
  events: JobEvent[];
  calls: ProviderCall[];
  ledger: LedgerEntry[];
  audit: AuditEntry[];
  /** The timeline's and the calls' windows, and the last prune's cutoff (retention_policies). */
  retention: Partial<Record<RetentionEdge['kind'], RetentionEdge>>;
}

/**
 * Whether the job's timeline and calls were removed by retention: they are empty (a job always
 * has its creation event; a job that was attempted has its calls) and the job is older than the
 * last prune's cutoff. The page then says so instead of showing empty sections.
 */
export function prunedRecords(
  job: { created_at: string; attempted_at: string | null; finished_at: string | null },
  records: Pick<JobRecords, 'events' | 'calls' | 'retention'>,
): { timeline: number | null; calls: number | null } {
  const before = (kind: RetentionEdge['kind'], at: string | null) => {
    const edge = records.retention[kind];
    return edge?.last_prune_cutoff != null && at !== null && Date.parse(at) < Date.parse(edge.last_prune_cutoff) ? edge.keep_days : null;
  };
  return {
    timeline: records.events.length === 0 ? before('job_events', job.finished_at ?? job.created_at) : null,
    calls: records.calls.length === 0 && job.attempted_at !== null ? before('provider_calls', job.finished_at ?? job.attempted_at) : null,
  };
}

/**
 * Everything recorded about one job, each read by its own index (job_events and provider_calls
 * keyed by job, the ledger's unique (job_id, charge_seq) indexes, the GIN index on audit job_ids),
 * fetched in parallel. A job has tens of these rows, not thousands; 500 is a safety bound.
 */
export async function fetchJobRecords(supabase: DatabaseClient, jobId: string): Promise<JobRecords> {
  const [events, calls, ledger, audit, retention] = await Promise.all([
    supabase.from('job_events').select('id,at,from_status,to_status,attempt,actor_id,actor_role,detail').eq('job_id', jobId).order('id').limit(500),
    supabase
      .from('provider_calls')
      .select('id,attempt,model_id,worker_id,started_at,duration_ms,http_status,outcome,retry_after_ms,cost_usd')
      .eq('job_id', jobId)
      .order('started_at')
      .limit(500),
    supabase.from('credit_ledger').select(LEDGER_COLUMNS).eq('job_id', jobId).order('id').limit(500),
    supabase.from('audit_log').select(AUDIT_COLUMNS).contains('job_ids', [jobId]).order('at').limit(500),
    supabase.from('retention_policies').select('kind,keep_days,last_prune_cutoff').in('kind', ['job_events', 'provider_calls']),
  ]);
  for (const r of [events, calls, ledger, audit, retention]) if (r.error) throw new Error(r.error.message);
  return {
    events: jobEventSchema.array().parse(events.data),
    calls: providerCallSchema.array().parse(calls.data),
    ledger: ledgerEntrySchema.array().parse(ledger.data),
    audit: auditEntrySchema.array().parse(audit.data),
    retention: Object.fromEntries(retentionEdgeSchema.array().parse(retention.data).map((r) => [r.kind, r])),
  };
}

export const jobRecordsQueryOptions = (supabase: DatabaseClient, jobId: string) =>
  queryOptions({ queryKey: adminJobKeys.records(jobId), queryFn: () => fetchJobRecords(supabase, jobId) });

export const useJobRecords = (jobId: string) => useQuery(jobRecordsQueryOptions(createClient(), jobId));
