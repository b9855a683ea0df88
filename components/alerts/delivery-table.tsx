import Link from 'next/link';
import { Timestamp } from '@/components/format/timestamp';
import type { AlertDelivery } from '@/lib/alerts/alert-schemas';

const EVENT_LABEL = { opened: 'Opened', resolved: 'Resolved', test: 'Test message' } as const;
const STATUS_LABEL = { pending: 'Waiting', sending: 'Sending', delivered: 'Delivered', failed: 'Failed' } as const;

/** Outward messages and how each went: status, attempts, the receiver's last answer. */
export function DeliveryTable({ deliveries, label, showIncident = true }: { deliveries: AlertDelivery[]; label: string; showIncident?: boolean }) {
  return (
    <table className="data-table" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Queued</th>
          <th scope="col">Channel</th>
          <th scope="col">Message</th>
          {showIncident && <th scope="col">Incident</th>}
          <th scope="col">Status</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last answer</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={d.id}>
            <td>
              <Timestamp iso={d.created_at} />
            </td>
            <td>
              {d.alert_channels.name} <span className="muted">({d.alert_channels.kind === 'slack' ? 'Slack' : 'webhook'})</span>
            </td>
            <td>{EVENT_LABEL[d.event]}</td>
            {showIncident && (
              <td className="truncate">{d.incident_id && d.alert_incidents ? <Link href={`/admin/incidents/${d.incident_id}`}>{d.alert_incidents.title}</Link> : '—'}</td>
            )}
            <td>
              <span className={`delivery-status delivery-${d.status}`}>{STATUS_LABEL[d.status]}</span>
              {d.status === 'pending' && d.attempts > 0 && (
                <div className="muted">
                  retry at <Timestamp iso={d.next_attempt_at} format="clock" />
                </div>
              )}
            </td>
            <td>
              {d.attempts} of {d.max_attempts}
            </td>
            <td className="truncate" title={d.last_error ?? undefined}>
              {d.status === 'delivered' ? `HTTP ${d.last_status}` : (d.last_error ?? '—')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
