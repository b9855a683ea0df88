/**
 * Bucket labels for a chart's x axis: clock time for windows within a day, weekday and hour
 * for a week. Formatters are created once per bucket size (Intl objects are costly to build).
 */
const clock = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit' });
const dayHour = new Intl.DateTimeFormat('en-US', { weekday: 'short', hour: '2-digit', minute: '2-digit' });

export function bucketLabel(iso: string, bucketSeconds: number): string {
  const date = new Date(iso);
  return bucketSeconds >= 3600 ? dayHour.format(date) : clock.format(date);
}

export const CHART_COLORS = {
  queued: '#8a8a99',
  running: '#2455d6',
  succeeded: '#17803d',
  failed: '#b42318',
  cancelled: '#c27c0e',
  p50: '#2455d6',
  p95: '#c27c0e',
  p99: '#b42318',
} as const;
