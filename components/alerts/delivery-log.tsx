'use client';

import { ErrorPanel } from '@/components/jobs/error-panel';
import { DELIVERY_LOG_SIZE, useAlertDeliveries } from '@/lib/alerts/alert-deliveries-query';
import { useAlertsLive } from '@/lib/alerts/use-alerts-live';
import { TableScroll } from '@/components/tables/table-scroll';
import { DeliveryTable } from './delivery-table';

/** The latest outward messages to every channel, live: queued, retried, delivered or failed. */
export function DeliveryLog() {
  const deliveries = useAlertDeliveries();
  useAlertsLive({ deliveries: true });
  if (deliveries.isPending) return <div className="skeleton" style={{ height: '8rem' }} aria-busy="true" aria-label="Loading the delivery log" />;
  if (deliveries.isError) return <ErrorPanel title="The delivery log could not be loaded" error={deliveries.error} onRetry={() => void deliveries.refetch()} />;
  return (
    <div className="card">
      {deliveries.data.length === 0 ? (
        <p className="muted">Nothing sent yet.</p>
      ) : (
        <>
          <TableScroll label="Delivery log">
            <DeliveryTable deliveries={deliveries.data} label="Delivery log" />
          </TableScroll>
          <p className="muted">The latest {DELIVERY_LOG_SIZE} messages.</p>
        </>
      )}
    </div>
  );
}
