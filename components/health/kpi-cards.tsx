import { memo } from 'react';
import type { HealthDocument } from '@/lib/metrics/health-schema';
import { formatPercent as percent } from '@/components/charts/format';

type Kpi = { id: string; label: string; value: string; hint?: string };

function duration(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function kpisOf(doc: Pick<HealthDocument, 'current' | 'totals' | 'models'>, windowMinutes: number, windowLabel: string): Kpi[] {
  const finished = doc.totals.succeeded + doc.totals.failed + doc.totals.cancelled;
  const open = doc.models.filter((m) => m.circuit_state === 'open').length;
  const halfOpen = doc.models.filter((m) => m.circuit_state === 'half_open').length;
  const circuits = open === 0 && halfOpen === 0 ? 'All closed' : [open && `${open} open`, halfOpen && `${halfOpen} half-open`].filter(Boolean).join(', ');
  return [
    { id: 'queued', label: 'Queue depth', value: doc.current.queued.toLocaleString('en-US') },
    { id: 'running', label: 'Running', value: doc.current.running.toLocaleString('en-US') },
    { id: 'oldest', label: 'Oldest queued', value: duration(doc.current.oldest_queued_seconds), hint: doc.current.oldest_queued_seconds === null ? 'queue empty' : 'as of the last refresh' },
    { id: 'throughput', label: 'Throughput', value: `${(finished / windowMinutes).toFixed(finished / windowMinutes < 10 ? 1 : 0)} / min`, hint: `average over ${windowLabel}` },
    { id: 'failure-rate', label: 'Failure rate', value: percent(doc.totals.failure_rate), hint: `${doc.totals.failed.toLocaleString('en-US')} failed` },
    { id: 'refunds', label: 'Refunds', value: doc.totals.refunds.toLocaleString('en-US'), hint: `${doc.totals.refunded_credits.toLocaleString('en-US')} credits` },
    { id: 'workers', label: 'Active workers', value: doc.current.active_workers.toLocaleString('en-US') },
    { id: 'circuits', label: 'Circuits', value: circuits, hint: `${doc.models.length} models` },
  ];
}

/** The headline numbers, as a list of labelled values (each findable by its label). */
export const KpiCards = memo(function KpiCards({ doc, windowMinutes, windowLabel }: { doc: HealthDocument; windowMinutes: number; windowLabel: string }) {
  return (
    <ul className="kpi-grid" aria-label="Key figures">
      {kpisOf(doc, windowMinutes, windowLabel).map((kpi) => (
        <li key={kpi.id} className="kpi" aria-labelledby={`kpi-${kpi.id}-label`}>
          <div className="kpi-label" id={`kpi-${kpi.id}-label`}>
            {kpi.label}
          </div>
          <div className="kpi-value">
            {kpi.value}
          </div>
          {kpi.hint ? <div className="kpi-hint">{kpi.hint}</div> : null}
        </li>
      ))}
    </ul>
  );
});
