import type { AlertRule, AlertUnit } from './alert-schemas';

/**
 * How the console words each rule's parameters. The rules themselves (what they measure) are
 * SQL's (private.alert_rule_values); this only names the numbers an admin edits.
 */
export interface RuleWording {
  /** "Fires when …" followed by the threshold. */
  threshold: string;
  /** What window_minutes means for this rule (rules without one have null there). */
  window?: string;
  /** What min_count counts. */
  minCount?: string;
}

export const RULE_WORDING: Record<string, RuleWording> = {
  failure_rate: { threshold: 'failed share of finished jobs above', window: 'over the last (minutes)', minCount: 'finished jobs at least' },
  model_failure_rate: { threshold: 'failed share of a model’s finished jobs above', window: 'over the last (minutes)', minCount: 'finished jobs at least' },
  queue_stalled: { threshold: 'oldest runnable job waiting longer than' },
  jobs_stuck: { threshold: 'jobs stuck more than', window: 'running longer than (minutes)' },
  jobs_rescued: { threshold: 'jobs rescued by the reaper more than', window: 'over the last (minutes)' },
  circuit_open: { threshold: 'a model’s circuit open longer than' },
  rate_limited_share: { threshold: 'share of a model’s calls answered 429 above', window: 'over the last (minutes)', minCount: 'calls at least' },
  latency_p95: { threshold: 'a model’s p95 Gemini call time above', window: 'over the last (minutes)', minCount: 'calls at least' },
  spend_per_hour: { threshold: 'Gemini spend above', window: 'over the last (minutes)' },
  calls_per_job: { threshold: 'billed calls per succeeded job above', window: 'over the last (minutes)', minCount: 'succeeded jobs at least' },
  no_worker: { threshold: 'runnable jobs waiting with no worker longer than' },
};

export const wordingFor = (rule: Pick<AlertRule, 'id'>): RuleWording => RULE_WORDING[rule.id] ?? { threshold: 'value above' };

/** A value in its unit, as the evaluation's summaries write it: 23.8%, 6.5 min, 3 jobs, 61.2 s, $52.10, 2.4×. */
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
