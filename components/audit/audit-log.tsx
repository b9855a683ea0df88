'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo } from 'react';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { AUDIT_ACTIONS } from '@/lib/audit/audit-entry-schema';
import { auditSearchParams, parseAuditFilters, type AuditFilters } from '@/lib/audit/audit-filters';
import { useAuditPage } from '@/lib/audit/audit-log-query';
import { AuditEntryList } from './audit-entry-list';
import '@/components/admin-jobs/admin-tables.css';
import { fromLocalInput, toLocalInput } from '@/components/admin-jobs/local-datetime';
import { Pager, TableSkeleton } from '@/components/admin-jobs/table-paging';

/** The audit log with filters in the URL (actor, action, target job or user, time), newest first. */
export function AuditLog() {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const filters = useMemo(() => parseAuditFilters(searchParams), [searchParams]);
  const query = useAuditPage(filters);
  const navigate = (next: AuditFilters) => {
    const params = auditSearchParams(next).toString();
    router.push(params ? `${pathname}?${params}` : pathname);
  };
  const submit = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    const date = (name: string) => fromLocalInput(text(name));
    navigate({ actor: text('actor'), action: text('action'), target: text('target'), from: date('from'), to: date('to'), page: 1 });
  };

  return (
    <section className="stack">
      <form key={JSON.stringify(filters)} className="card filter-bar" role="search" aria-label="Audit filters" onSubmit={submit}>
        <div>
          <label htmlFor="a-action">Action</label>
          <select id="a-action" name="action" defaultValue={filters.action ?? ''}>
            <option value="">Any action</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="a-actor">Actor (user id)</label>
          <input id="a-actor" name="actor" defaultValue={filters.actor ?? ''} placeholder="uuid" />
        </div>
        <div>
          <label htmlFor="a-target">Target (job or user id)</label>
          <input id="a-target" name="target" defaultValue={filters.target ?? ''} placeholder="uuid" />
        </div>
        <div>
          <label htmlFor="a-from">From</label>
          <input id="a-from" name="from" type="datetime-local" defaultValue={toLocalInput(filters.from)} />
        </div>
        <div>
          <label htmlFor="a-to">Before</label>
          <input id="a-to" name="to" type="datetime-local" defaultValue={toLocalInput(filters.to)} />
        </div>
        <div className="row">
          <button type="submit">Apply filters</button>
        </div>
      </form>
      {query.isPending ? (
        <TableSkeleton rows={6} label="Loading the audit log" />
      ) : query.isError ? (
        <ErrorPanel title="The audit log could not be loaded" error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <div className="card">
          <AuditEntryList entries={query.data.rows} emptyText="No audit entries match these filters." />
          <Pager page={filters.page} hasNextPage={query.data.hasNextPage} onPage={(page) => navigate({ ...filters, page })} />
        </div>
      )}
    </section>
  );
}
