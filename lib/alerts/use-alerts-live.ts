'use client';

import { useQueryClient } from '@tanstack/react-query';
import { usePrivateTopic, type TopicStatus } from '@/lib/realtime/private-topic';
import { ADMIN_ALERTS_TOPIC, parseAdminAlertChange } from './alert-change';
import type { AlertDelivery, Incident } from './alert-schemas';
import { patchDeliveries, patchOpenIncidents, patchResolvedIncidents } from './incidents-patch';
import { alertKeys } from './keys';

/** What a component shows, and so which cache entries its live updates keep current. */
export interface AlertsShown {
  open?: boolean;
  resolved?: boolean;
  incidentId?: number;
  deliveries?: boolean;
}

/**
 * Keeps what the calling component shows current from the admin:alerts topic: incident lists
 * are patched from the message itself; an incident's story (its timeline grows with every
 * evaluation, at most once a minute) and a new delivery's row are refetched once. On every join
 * of the tab's 'admin:alerts' channel (and when a component arrives at one already joined),
 * everything shown is read again: Realtime replays nothing.
 */
export function useAlertsLive(shown: AlertsShown): { status: TopicStatus } {
  const queryClient = useQueryClient();
  return usePrivateTopic(ADMIN_ALERTS_TOPIC, {
    onMessage(event, payload) {
      const message = parseAdminAlertChange(event, payload);
      if (!message) return;
      if (message.event === 'incident_changed') {
        const change = message.change;
        if (shown.open) queryClient.setQueryData<Incident[]>(alertKeys.openIncidents(), (list) => list && patchOpenIncidents(list, change));
        if (shown.resolved) queryClient.setQueryData<Incident[]>(alertKeys.resolvedIncidents(), (list) => list && patchResolvedIncidents(list, change));
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
    onJoin() {
      if (shown.open) void queryClient.invalidateQueries({ queryKey: alertKeys.openIncidents() });
      if (shown.resolved) void queryClient.invalidateQueries({ queryKey: alertKeys.resolvedIncidents() });
      if (shown.incidentId !== undefined) void queryClient.invalidateQueries({ queryKey: alertKeys.incident(shown.incidentId) });
      if (shown.deliveries) void queryClient.invalidateQueries({ queryKey: alertKeys.deliveries() });
    },
  });
}
