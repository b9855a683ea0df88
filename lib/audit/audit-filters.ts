import { z } from 'zod';

export const AUDIT_PAGE_SIZE = 50;

const uuidOrUndefined = z
  .string()
  .optional()
  .transform((v) => (v && z.uuid().safeParse(v.trim()).success ? v.trim().toLowerCase() : undefined));
const dateOrUndefined = z
  .string()
  .optional()
  .transform((v) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined));

/**
 * Audit log filters, kept in the URL like the job explorer's. The target is a job id or a user
 * id: a job's entries are found through the GIN index on job_ids, a user's by target_user_id.
 */
export const auditFiltersSchema = z.object({
  actor: uuidOrUndefined,
  action: z
    .string()
    .trim()
    .max(100)
    .optional()
    .transform((v) => (v ? v : undefined)),
  target: uuidOrUndefined,
  from: dateOrUndefined,
  to: dateOrUndefined,
  page: z.coerce.number().int().min(1).max(10_000).catch(1).default(1),
});
export type AuditFilters = z.infer<typeof auditFiltersSchema>;

export function parseAuditFilters(params: URLSearchParams | Record<string, string | string[] | undefined>): AuditFilters {
  const get = (key: string) => {
    if (params instanceof URLSearchParams) return params.get(key) ?? undefined;
    const value = params[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const parsed = auditFiltersSchema.safeParse(Object.fromEntries(['actor', 'action', 'target', 'from', 'to', 'page'].map((k) => [k, get(k)])));
  return parsed.success ? parsed.data : auditFiltersSchema.parse({});
}

export function auditSearchParams(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['actor', 'action', 'target', 'from', 'to'] as const) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  if (filters.page > 1) params.set('page', String(filters.page));
  return params;
}
