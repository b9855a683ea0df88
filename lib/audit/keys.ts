import type { AuditFilters } from './audit-filters';

/** Query keys for the audit log; every staff action invalidates `all`. */
export const auditKeys = {
  all: ['audit'] as const,
  list: (filters: AuditFilters) => [...auditKeys.all, 'list', filters] as const,
  forJob: (jobId: string) => [...auditKeys.all, 'job', jobId] as const,
};
