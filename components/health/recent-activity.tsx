import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import { memo } from 'react';
import { TableScroll } from '@/components/tables/table-scroll';
import { JobStatusBadge } from '@/components/jobs/job-status-badge';
import type { AdminJobChange } from '@/lib/admin-jobs/admin-job-change';


/** The latest job changes as they stream in, one row per job (its newest state). */
export const RecentActivity = memo(function RecentActivity({ changes }: { changes: AdminJobChange[] }) {
  return (
    <section className="card" aria-labelledby="activity-title">
      <h2 id="activity-title">Recent activity</h2>
      {changes.length === 0 ? (
        <p className="muted">No job changes since this page opened. New jobs and their progress appear here as they happen.</p>
      ) : (
        <TableScroll label="Recent activity">
          <table className="data-table" aria-label="Recent job changes">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.id}>
                  <th scope="row" className="mono">
                    <Link href={`/admin/jobs/${c.id}`} title={c.id}>
                      {c.id.slice(0, 8)}
                    </Link>
                  </th>
                  <td className="mono">{c.model_id}</td>
                  <td>
                    <JobStatusBadge status={c.status} />
                  </td>
                  <td>
                    {c.progress ?? 0}%{c.stage ? <span className="muted"> · {c.stage}</span> : null}
                  </td>
                  <td><Timestamp iso={c.updated_at} format="clock" /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
});
