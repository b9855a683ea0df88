'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useAdminAlertChanges } from '@/lib/realtime/admin-alert-changes';
import type { AlertDelivery, Incident } from './alert-schemas';
import { patchDeliveries, patchOpenIncidents, patchRecentIncidents } from './incidents-patch';
import { alertKeys } from './keys';

/** What a component shows, and so which cache entries its live updates keep current. */
export interface AlertsShown {
  open?: boolean;
  recent?: boolean;
  incidentId?: number;
  deliveries?: boolean;
}

/**
 * Keeps what the calling component shows current from the admin:alerts topic: incident lists
 * are patched from the message itself; an incident's story (its timeline grows with every
 * evaluation, at most once a minute) and a new delivery's row are refetched once. After a
 * reconnect, everything shown is refetched.
 */
export function useAlertsLive(shown: AlertsShown): void {
  const queryClient = useQueryClient();
  useAdminAlertChanges(
    (message) => {
      if (message.event === 'incident_changed') {
        const change = message.change;
        if (shown.open) queryClient.setQueryData<Incident[]>(alertKeys.openIncidents(), (list) => list && patchOpenIncidents(list, change));
        if (shown.recent) queryClient.setQueryData<Incident[]>(alertKeys.recentIncidents(), (list) => list && patchRecentIncidents(list, change));
        if (shown.incidentId === change.id) void queryClient.invalidateQueries({ queryKey: alertKeys.incident(change.id) });
        return;
      }
      const change = message.change;
      if (shown.deliveries) {
        const list = queryClient.getQueryData<AlertDelivery[]>(alertKeys.deliveries());
        const patched = list && patchDeliveries(list, change);
        if (patched) queryClient.setQueryData(alertKeys.deliveries(), patched);
        else void queryClient.invalidateQueries({ queryKey: alertKeys.deliveries() });
      }
      if (shown.incidentId !== undefined && shown.incidentId === change.incident_id) {
        void queryClient.invalidateQueries({ queryKey: alertKeys.incident(change.incident_id) });
      }
    },
    () => {
      if (shown.open) void queryClient.invalidateQueries({ queryKey: alertKeys.openIncidents() });
      if (shown.recent) void queryClient.invalidateQueries({ queryKey: alertKeys.recentIncidents() });
      if (shown.incidentId !== undefined) void queryClient.invalidateQueries({ queryKey: alertKeys.incident(shown.incidentId) });
      if (shown.deliveries) void queryClient.invalidateQueries({ queryKey: alertKeys.deliveries() });
    },
  );
}
