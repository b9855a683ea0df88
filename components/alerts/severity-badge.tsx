import type { Severity } from '@/lib/alerts/alert-schemas';

/** Critical or warning, in words and colour (the colour never carries it alone). */
export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span className={`badge severity-${severity}`}>{severity === 'critical' ? 'Critical' : 'Warning'}</span>;
}
