import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import type { LedgerEntry } from '@/lib/credits/ledger-entry-schema';
import '@/components/admin-jobs/admin-tables.css';


/** Credit ledger rows: a user's (with the job each moved credits for) or a job's (with the charge number). */
export function LedgerTable({ entries, column }: { entries: LedgerEntry[]; column: 'job' | 'charge' }) {
  if (entries.length === 0) return <p className="muted">No credit movements yet.</p>;
  return (
    <table className="data-table" aria-label="Ledger entries">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Entry</th>
          <th scope="col">Credits</th>
          <th scope="col">{column === 'job' ? 'Job' : 'Charge'}</th>
          <th scope="col">By</th>
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((l) => (
          <tr key={l.id}>
            <td><Timestamp iso={l.created_at} /></td>
            <td>{l.reason}</td>
            <td>{l.delta > 0 ? `+${l.delta}` : l.delta}</td>
            <td className="mono">
              {column === 'charge' ? `#${l.charge_seq ?? '—'}` : l.job_id ? <Link href={`/admin/jobs/${l.job_id}`}>{l.job_id.slice(0, 8)}</Link> : '—'}
            </td>
            <td>{l.actor_role}</td>
            <td>{l.note ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
