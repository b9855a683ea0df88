import type { IncidentChange } from './alert-change';
import type { AlertDelivery, Incident } from './alert-schemas';

/** How many resolved incidents the Incidents page lists (the open ones are all listed). */
export const RESOLVED_INCIDENTS = 50;

const SEVERITY_RANK = { critical: 0, warning: 1 } as const;

/** The banner's order: critical first, then the newest. */
export function byUrgency(a: Incident, b: Incident): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.opened_at.localeCompare(a.opened_at) || b.id - a.id;
}

const byOpened = (a: Incident, b: Incident) => b.opened_at.localeCompare(a.opened_at) || b.id - a.id;

/** The open incidents after a change: an open one is added or replaced, a resolved one leaves. */
export function patchOpenIncidents(list: Incident[], change: IncidentChange): Incident[] {
  const others = list.filter((i) => i.id !== change.id);
  return change.status === 'open' ? [...others, change].sort(byUrgency) : others;
}

/** The latest resolved incidents after a change: a resolved one is replaced or added (keeping RESOLVED_INCIDENTS), an open one is not theirs. */
export function patchResolvedIncidents(list: Incident[], change: IncidentChange): Incident[] {
  const others = list.filter((i) => i.id !== change.id);
  return change.status === 'resolved' ? [...others, change].sort(byOpened).slice(0, RESOLVED_INCIDENTS) : others;
}

/**
 * A delivery row after a change, or null when the list does not hold it (a new delivery: the
 * caller refetches, because the row shows its channel's name and incident's title).
 */
export function patchDeliveries(list: AlertDelivery[], change: { id: number; status: AlertDelivery['status']; attempts: number; last_status: number | null; last_error: string | null; delivered_at: string | null }): AlertDelivery[] | null {
  if (!list.some((d) => d.id === change.id)) return null;
  return list.map((d) =>
    d.id === change.id
      ? { ...d, status: change.status, attempts: change.attempts, last_status: change.last_status, last_error: change.last_error, delivered_at: change.delivered_at }
      : d,
  );
}
