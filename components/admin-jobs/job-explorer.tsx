'use client';

import { Timestamp } from '@/components/format/timestamp';
import { shortUserId } from '@/components/format/short-id';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo, useState } from 'react';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { JobStatusBadge } from '@/components/jobs/job-status-badge';
import { LiveStatus } from '@/components/health/live-status';
import { TableScroll } from '@/components/tables/table-scroll';
import { explorerSearchParams, parseExplorerFilters, type ExplorerFilters } from '@/lib/admin-jobs/explorer-filters';
import { JOB_ACTIONS, JOB_ACTION_LABEL, roleMayRun, type JobAction } from '@/lib/admin-jobs/job-actions';
import { useExplorerPage } from '@/lib/admin-jobs/jobs-explorer-query';
import { useExplorerLive } from '@/lib/admin-jobs/use-admin-jobs-live';
import type { AppRole } from '@/lib/auth/roles';
import { ExplorerFilterForm } from './explorer-filter-form';
import { JobActionDialog } from './job-action-dialog';
import { Pager, TableSkeleton } from './table-paging';
import './admin-tables.css';


/**
 * The job explorer: filters in the URL, one server-side page at a time, rows patched live from
 * the admin topic, and bulk actions over the selected rows. Only actions the role may run are
 * offered; whether each job's state allows it is decided per job by the database and shown in
 * the dialog's outcome.
 */
export function JobExplorer({ role, fixedUser }: { role: AppRole; fixedUser?: string }) {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const filters = useMemo(() => {
    const parsed = parseExplorerFilters(searchParams);
    return fixedUser ? { ...parsed, user: fixedUser } : parsed;
  }, [searchParams, fixedUser]);
  const query = useExplorerPage(filters);
  const live = useExplorerLive();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [action, setAction] = useState<JobAction | null>(null);

  const navigate = (next: ExplorerFilters) => {
    setSelected(new Set());
    const params = explorerSearchParams(fixedUser ? { ...next, user: undefined } : next).toString();
    router.push(params ? `${pathname}?${params}` : pathname);
  };

  const rows = query.data?.rows ?? [];
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const offered = JOB_ACTIONS.filter((a) => roleMayRun(a, role));

  return (
    <section className="stack" aria-label="Job explorer">
      {!fixedUser && <ExplorerFilterForm filters={filters} onApply={navigate} />}
      <div className="toolbar" role="toolbar" aria-label="Bulk actions">
        <span>{selected.size} selected</span>
        {offered.map((a) => (
          <button key={a} type="button" disabled={selected.size === 0} onClick={() => setAction(a)}>
            {JOB_ACTION_LABEL[a]} selected
          </button>
        ))}
        <LiveStatus status={live.status} />
        {live.newJobs > 0 && (
          <button type="button" className="link-button" onClick={live.showNewJobs}>
            {live.newJobs} new {live.newJobs === 1 ? 'job' : 'jobs'}: refresh
          </button>
        )}
      </div>

      {query.isPending ? (
        <TableSkeleton rows={8} label="Loading jobs" />
      ) : query.isError ? (
        <ErrorPanel title="Jobs could not be loaded" error={query.error} onRetry={() => void query.refetch()} />
      ) : rows.length === 0 ? (
        <div className="card">
          <h2>No jobs match</h2>
          <p className="muted">
            {filters.page > 1 ? 'This page is past the last job.' : 'Nothing matches these filters. Widen the time range or clear a filter.'}
          </p>
        </div>
      ) : (
        <div className="card">
          {query.data.searchedSince && (
            <p className="muted">Prompt search covers jobs created since <Timestamp iso={query.data.searchedSince} />; set a start time to search further back.</p>
          )}
          <TableScroll label="Jobs">
            <table className="data-table" aria-label="Jobs">
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all jobs on this page"
                      checked={allSelected}
                      onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.id)))}
                    />
                  </th>
                  <th scope="col">Job</th>
                  <th scope="col">Status</th>
                  <th scope="col">Model</th>
                  <th scope="col">User</th>
                  <th scope="col">Prompt</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((job) => {
                  const leftFilter = filters.status.length > 0 && !filters.status.includes(job.status);
                  return (
                    <tr key={job.id}>
                      <td>
                        <input type="checkbox" aria-label={`Select job ${job.id}`} checked={selected.has(job.id)} onChange={() => toggle(job.id)} />
                      </td>
                      <td className="mono">
                        <Link href={`/admin/jobs/${job.id}`} aria-label={`Job ${job.id}`}>
                          {job.id.slice(0, 8)}
                        </Link>
                      </td>
                      <td>
                        <JobStatusBadge status={job.status} />
                        {leftFilter && <span className="changed-marker">changed</span>}
                        {/* Stage and error under the status, not in columns of their own: the table fits a laptop. */}
                        {job.status === 'running' && (
                          <div className="muted">
                            {job.stage ?? 'running'} {job.progress}%
                          </div>
                        )}
                        {job.error_class && <div className="muted">{job.error_class}</div>}
                      </td>
                      <td className="nowrap">{job.model_id}</td>
                      <td className="mono">
                        <Link href={`/admin/users/${job.user_id}`} title={job.user_id}>
                          {shortUserId(job.user_id)}
                        </Link>
                      </td>
                      <td className="truncate" title={job.prompt}>
                        {job.prompt}
                      </td>
                      <td>
                        {job.attempt}/{job.max_attempts}
                      </td>
                      <td><Timestamp iso={job.created_at} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
          <Pager
            page={filters.page}
            hasNextPage={query.data.hasNextPage}
            summary={`${query.data.total.estimated ? 'about ' : ''}${query.data.total.value.toLocaleString('en-US')} ${query.data.total.value === 1 ? 'job' : 'jobs'}`}
            onPage={(page) => navigate({ ...filters, page })}
          />
        </div>
      )}
      {action && (
        <JobActionDialog
          action={action}
          ids={[...selected]}
          onClose={() => {
            setAction(null);
            setSelected(new Set());
          }}
        />
      )}
    </section>
  );
}
