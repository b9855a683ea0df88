import type { AlertUnit } from './alert-schemas';

/**
 * A value in its unit, as the evaluation's summaries write it (private.alert_format_value): 23.8%,
 * 6.5 min, 3 jobs, 61.2 s, $52.10, 2.4×. The console needs its own for any number (a chart's
 * axis); supabase/tests/alert-rule-catalog.test.ts holds the two to the same text for every unit.
 */
export function formatAlertValue(unit: AlertUnit, value: number | null): string {
  if (value === null) return 'no data';
  const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));
  switch (unit) {
    case 'percent':
      return `${trim(value, 2)}%`;
    case 'minutes':
      return `${trim(value, 1)} min`;
    case 'jobs':
      return `${Math.round(value)} ${Math.round(value) === 1 ? 'job' : 'jobs'}`;
    case 'ms':
      return value >= 1000 ? `${trim(value / 1000, 1)} s` : `${Math.round(value)} ms`;
    case 'usd':
      return `$${value.toFixed(2)}`;
    case 'ratio':
      return `${trim(value, 2)}×`;
  }
}

/** The unit an admin types the threshold in (milliseconds are typed as such). */
export const UNIT_LABEL: Record<AlertUnit, string> = {
  percent: '%',
  minutes: 'minutes',
  jobs: 'jobs',
  ms: 'ms',
  usd: 'USD',
  ratio: '× per job',
};
