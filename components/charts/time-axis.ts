/**
 * Bucket labels for a chart's x axis: clock time for windows within a day, weekday and hour
 * for a week, in a given time zone (the server draws in UTC, the browser then in the viewer's
 * zone; see use-time-zone.ts). Formatters are created once per zone and bucket size (Intl
 * objects are costly to build).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, withDay: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${withDay}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', ...(withDay ? { weekday: 'short' as const } : {}) });
    formatters.set(key, format);
  }
  return format;
}

export function bucketLabel(iso: string, bucketSeconds: number, timeZone: string): string {
  return formatter(timeZone, bucketSeconds >= 3600).format(new Date(iso));
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** How far a zone's wall clock is ahead of UTC at a moment, in seconds (negative west of UTC). */
export function zoneOffsetSeconds(epochMs: number, timeZone: string): number {
  let format = offsetFormatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    offsetFormatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]));
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 1000);
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
