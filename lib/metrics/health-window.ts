import { z } from 'zod';

/**
 * The windows System Health offers and the bucket each is drawn with: about 60-170 points per
 * chart, enough to see a trend on a laptop screen and few enough to redraw cheaply. The 30- and
 * 90-day windows use buckets of whole hours, so they are drawn from the hour rollups, which
 * outlive the raw rows and the minute rollups (docs/retention.md).
 */
export const HEALTH_WINDOWS = {
  '1h': { label: '1 hour', window: '1 hour', bucket: '1 minute', bucketMinutes: 1, minutes: 60 },
  '24h': { label: '24 hours', window: '24 hours', bucket: '15 minutes', bucketMinutes: 15, minutes: 1440 },
  '7d': { label: '7 days', window: '7 days', bucket: '1 hour', bucketMinutes: 60, minutes: 10080 },
  '30d': { label: '30 days', window: '30 days', bucket: '6 hours', bucketMinutes: 360, minutes: 43200 },
  '90d': { label: '90 days', window: '90 days', bucket: '1 day', bucketMinutes: 1440, minutes: 129600 },
} as const;

export type HealthWindow = keyof typeof HEALTH_WINDOWS;
export const healthWindowSchema = z.enum(['1h', '24h', '7d', '30d', '90d']);
export const DEFAULT_HEALTH_WINDOW: HealthWindow = '1h';

/** A window from the URL (`?window=24h`); anything else is the default. */
export function parseHealthWindow(value: unknown): HealthWindow {
  const parsed = healthWindowSchema.safeParse(value);
  return parsed.success ? parsed.data : DEFAULT_HEALTH_WINDOW;
}
