'use client';

import Link from 'next/link';
import { Timestamp } from '@/components/format/timestamp';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { TableScroll } from '@/components/tables/table-scroll';
import type { Incident } from '@/lib/alerts/alert-schemas';
import { useOpenIncidents } from '@/lib/alerts/open-incidents-query';
import { useResolvedIncidents } from '@/lib/alerts/resolved-incidents-query';
import { useAlertsLive } from '@/lib/alerts/use-alerts-live';
import { SeverityBadge } from './severity-badge';

/**
 * The Incidents page, live: every open incident (the banner's list, so the two always agree),
 * then the latest resolved ones.
 */
export function IncidentList() {
  const open = useOpenIncidents();
  const resolved = useResolvedIncidents();
  useAlertsLive({ open: true, resolved: true });
  const failed = open.error ?? resolved.error;
  if (failed) {
    return <ErrorPanel title="Incidents could not be loaded" error={failed} onRetry={() => void Promise.all([open.refetch(), resolved.refetch()])} />;
  }
  if (!open.data || !resolved.data) return <div className="skeleton" style={{ height: '12rem' }} aria-busy="true" aria-label="Loading incidents" />;
  return <IncidentListView open={open.data} resolved={resolved.data} />;
}

export function IncidentListView({ open, resolved }: { open: Incident[]; resolved: Incident[] }) {
  return (
    <div className="stack">
      <section aria-labelledby="open-incidents" className="stack">
        <h2 id="open-incidents">Open</h2>
        {open.length === 0 ? (
          <p className="card muted">
            Nothing is open. Every rule is within its threshold.
          </p>
        ) : (
          <ul className="incident-cards" aria-label="Open incidents">
            {open.map((i) => (
              <li key={i.id} className={`card incident-card incident-card-${i.severity}`}>
                <div className="row spread">
                  <Link href={`/admin/incidents/${i.id}`}>
                    <strong>{i.title}</strong>
                  </Link>
                  <SeverityBadge severity={i.severity} />
                </div>
                <p>{i.summary}</p>
                <p className="muted">
                  Open since <Timestamp iso={i.opened_at} />
                  {i.clear_since ? ' · clear now, resolving after its hold-down' : ''}
                  {i.acknowledged_at ? ' · acknowledged' : ''}
                  {i.notify ? '' : ' · rule silenced: nothing sent'}
                </p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="recent-incidents" className="card">
        <h2 id="recent-incidents">Resolved</h2>
        {resolved.length === 0 ? (
          <p className="muted">No incident has resolved yet.</p>
        ) : (
          <TableScroll label="Resolved incidents">
            <table className="data-table" aria-label="Resolved incidents">
              <thead>
                <tr>
                  <th scope="col">Incident</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Opened</th>
                  <th scope="col">Resolved</th>
                  <th scope="col">Last value</th>
                </tr>
              </thead>
              <tbody>
                {resolved.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <Link href={`/admin/incidents/${i.id}`}>{i.title}</Link>
                    </td>
                    <td>
                      <SeverityBadge severity={i.severity} />
                    </td>
                    <td>
                      <Timestamp iso={i.opened_at} />
                    </td>
                    <td>
                      <Timestamp iso={i.resolved_at} />
                    </td>
                    <td>{i.value_text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </div>
  );
}
