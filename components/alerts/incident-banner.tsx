'use client';

import Link from 'next/link';
import type { Incident } from '@/lib/alerts/alert-schemas';
import { useOpenIncidents } from '@/lib/alerts/open-incidents-query';
import { useAlertsLive } from '@/lib/alerts/use-alerts-live';

/**
 * On every admin page while an incident is open: how many, the most urgent one's title and
 * sentence, and the way to the incident. It appears and goes without a reload, pushed by the
 * admin:alerts topic.
 */
export function IncidentBanner() {
  const open = useOpenIncidents();
  useAlertsLive({ open: true });
  return <IncidentBannerView incidents={open.data ?? []} />;
}

export function IncidentBannerView({ incidents }: { incidents: Incident[] }) {
  const top = incidents[0];
  if (!top) return null;
  const more = incidents.length - 1;
  const acknowledged = incidents.every((i) => i.acknowledged_at);
  return (
    // A polite live region: the sentence is refreshed every evaluation, and an assertive one
    // would interrupt a screen reader each minute.
    <div role="status" className={`incident-banner incident-banner-${top.severity}`} aria-label="Open incidents">
      <strong>
        {incidents.length === 1 ? '1 open incident' : `${incidents.length} open incidents`}
        {acknowledged ? ' (acknowledged)' : ''}
      </strong>
      <span>
        {top.severity === 'critical' ? 'Critical' : 'Warning'}: {top.title}. {top.summary}
        {more > 0 ? ` And ${more} more.` : ''}
      </span>
      <Link href={incidents.length === 1 ? `/admin/incidents/${top.id}` : '/admin/incidents'}>
        {incidents.length === 1 ? 'View the incident' : 'View incidents'}
      </Link>
    </div>
  );
}
