/**
 * Query keys for alerting, built here only: the admin:alerts topic patches exactly the entries
 * the banner, the Incidents page and the Alerts page read.
 */
export const alertKeys = {
  all: ['alerts'] as const,
  incidents: () => [...alertKeys.all, 'incidents'] as const,
  openIncidents: () => [...alertKeys.incidents(), 'open'] as const,
  resolvedIncidents: () => [...alertKeys.incidents(), 'resolved'] as const,
  incident: (id: number) => [...alertKeys.incidents(), 'detail', id] as const,
  rules: () => [...alertKeys.all, 'rules'] as const,
  channels: () => [...alertKeys.all, 'channels'] as const,
  deliveries: () => [...alertKeys.all, 'deliveries'] as const,
  evaluation: () => [...alertKeys.all, 'evaluation'] as const,
};
