import { Timestamp } from '@/components/format/timestamp';
import { shortUserId } from '@/components/format/short-id';
import Link from 'next/link';
import { TableScroll } from '@/components/tables/table-scroll';
import type { AuditEntry } from '@/lib/audit/audit-entry-schema';
import '@/components/admin-jobs/admin-tables.css';


/** Audit rows as a table: who, in which role, did what to which jobs or user, why, and the credits moved. */
export function AuditEntryList({ entries, emptyText }: { entries: AuditEntry[]; emptyText: string }) {
  if (entries.length === 0) return <p className="muted">{emptyText}</p>;
  return (
    <TableScroll label="Audit entries">
      <table className="data-table" aria-label="Audit entries">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">Reason</th>
            <th scope="col">Credits</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td><Timestamp iso={e.at} /></td>
              <td>{e.action}</td>
              <td>
                {e.actor_role}
                {e.actor_id && (
                  <>
                    {' '}
                    <Link className="mono" href={`/admin/audit?actor=${e.actor_id}`} title={e.actor_id}>
                      {shortUserId(e.actor_id)}
                    </Link>
                  </>
                )}
              </td>
              <td>
                {e.target_user_id && (
                  <Link className="mono" href={`/admin/users/${e.target_user_id}`} title={e.target_user_id}>
                    user {shortUserId(e.target_user_id)}
                  </Link>
                )}
                {e.job_ids.slice(0, 3).map((id) => (
                  <span key={id}>
                    {' '}
                    <Link className="mono" href={`/admin/jobs/${id}`}>
                      {id.slice(0, 8)}
                    </Link>
                  </span>
                ))}
                {e.job_ids.length > 3 && <span className="muted"> +{e.job_ids.length - 3} more</span>}
                {typeof e.detail.model_id === 'string' && <span> model {e.detail.model_id}</span>}
              </td>
              <td>{e.reason}</td>
              <td>{e.credits_moved === 0 ? '—' : e.credits_moved > 0 ? `+${e.credits_moved}` : e.credits_moved}</td>
              <td className="muted">
                {typeof e.detail.done === 'number' ? `${e.detail.done} done, ${Number(e.detail.skipped ?? 0)} skipped` : ''}
                {typeof e.detail.balance_after === 'number' ? `balance ${e.detail.balance_after}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
