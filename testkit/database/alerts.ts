import type pg from 'pg';
import { query } from './fixtures.ts';

/**
 * Arranging what the alert rules measure, and reading what the evaluation did. Counts are
 * written as the minute rollups (rollup_metrics) would have written them, with the watermark
 * moved to the current minute so the evaluation reads them as rolled up; live state (jobs,
 * calls, circuits) goes through the real functions.
 */
export interface EvaluationResult {
  opened?: number;
  kept?: number;
  cleared?: number;
  resolved?: number;
  queued?: number;
  duration_ms?: number;
  skipped?: string;
}

/** One evaluation, as pg_cron or the local scheduler runs it. */
export async function evaluate(db: pg.Pool): Promise<EvaluationResult> {
  const [row] = await query<{ result: EvaluationResult }>(db, 'service', 'select public.evaluate_alerts() as result');
  return row!.result;
}

export interface RuleSettings {
  enabled: boolean;
  threshold: number;
  window_minutes: number;
  min_count: number;
  hold_down_minutes: number;
  silenced_until: string | null;
}

/** Changes a rule directly (the audited path, update_alert_rule, has its own tests). */
export async function setRule(db: pg.Pool, id: string, settings: Partial<RuleSettings>): Promise<void> {
  const entries = Object.entries(settings);
  await db.query(
    `update public.alert_rules set ${entries.map(([k], i) => `${k} = $${i + 2}`).join(', ')} where id = $1`,
    [id, ...entries.map(([, v]) => v)],
  );
}

/** Counts before the current minute are read from the rollups from now on. */
export async function markRolledUp(db: pg.Pool): Promise<void> {
  await db.query(`update public.metrics_rollup_state set rolled_until = date_bin('1 minute', now(), timestamptz 'epoch') where id`);
}

export interface JobMinute {
  minutesAgo: number;
  model: string;
  succeeded?: number;
  failed?: number;
  claimed?: number;
}

/** A metrics_job_minute row `minutesAgo` whole minutes before the current one (replacing any). */
export async function addJobMinute(db: pg.Pool, m: JobMinute): Promise<void> {
  await db.query(
    `insert into public.metrics_job_minute (minute, model_id, succeeded, failed, claimed)
     values (date_bin('1 minute', now(), timestamptz 'epoch') - make_interval(mins => $1), $2, $3, $4, $5)
     on conflict (minute, model_id) do update set succeeded = excluded.succeeded, failed = excluded.failed, claimed = excluded.claimed`,
    [m.minutesAgo, m.model, m.succeeded ?? 0, m.failed ?? 0, m.claimed ?? 0],
  );
}

export interface CallMinute {
  minutesAgo: number;
  model: string;
  calls: number;
  ok?: number;
  rateLimited?: number;
  costUsd?: number;
  /** Calls per latency bin, 40 bins (private.latency_bin); default all in bin 1. */
  latencyHist?: number[];
}

export async function addCallMinute(db: pg.Pool, m: CallMinute): Promise<void> {
  const hist = m.latencyHist ?? [m.calls, ...Array<number>(39).fill(0)];
  await db.query(
    `insert into public.metrics_provider_minute (minute, model_id, calls, ok, rate_limited, cost_usd, latency_hist)
     values (date_bin('1 minute', now(), timestamptz 'epoch') - make_interval(mins => $1), $2, $3, $4, $5, $6, $7)
     on conflict (minute, model_id) do update set calls = excluded.calls, ok = excluded.ok,
       rate_limited = excluded.rate_limited, cost_usd = excluded.cost_usd, latency_hist = excluded.latency_hist`,
    [m.minutesAgo, m.model, m.calls, m.ok ?? m.calls, m.rateLimited ?? 0, m.costUsd ?? 0, hist],
  );
}

export async function clearRollups(db: pg.Pool): Promise<void> {
  await db.query('delete from public.metrics_job_minute where true; delete from public.metrics_provider_minute where true');
}

export interface Incident {
  id: string;
  rule_id: string;
  subject: string;
  status: 'open' | 'resolved';
  severity: string;
  title: string;
  summary: string;
  value: string | null;
  detail: Record<string, unknown>;
  notify: boolean;
  clear_since: Date | null;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
}

export async function incidents(db: pg.Pool, ruleId?: string): Promise<Incident[]> {
  const { rows } = await db.query<Incident>(
    `select * from public.alert_incidents where $1::text is null or rule_id = $1 order by id`,
    [ruleId ?? null],
  );
  return rows;
}

export async function incidentEvents(db: pg.Pool, incidentId: string): Promise<{ kind: string; value: string | null; note: string | null; actor_role: string }[]> {
  const { rows } = await db.query(`select kind, value, note, actor_role from public.alert_incident_events where incident_id = $1 order by id`, [
    incidentId,
  ]);
  return rows;
}

export interface Delivery {
  id: string;
  channel_id: string;
  incident_id: string | null;
  event: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date;
}

export async function deliveries(db: pg.Pool): Promise<Delivery[]> {
  const { rows } = await db.query<Delivery>('select * from public.alert_deliveries order by id');
  return rows;
}

/** Lets channels point at http://127.0.0.1 (a receiver in the test), as the local platform can. */
export async function allowLoopbackTargets(db: pg.Pool, allow = true): Promise<void> {
  await db.query('update private.alert_settings set allow_loopback_http = $1 where id', [allow]);
}

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdefghij';

export interface Channel {
  id: string;
  name: string;
  kind: 'slack' | 'webhook';
  url_hint: string;
  secret_hint: string | null;
}

export async function createChannel(
  db: pg.Pool,
  input: { name: string; kind: 'slack' | 'webhook'; url: string; secret?: string; minSeverity?: 'warning' | 'critical' },
): Promise<Channel> {
  const [row] = await query<Channel>(db, 'admin', 'select * from public.create_alert_channel($1, $2, $3, $4, $5, $6)', [
    input.name,
    input.kind,
    input.url,
    'alerts go here',
    input.kind === 'webhook' ? (input.secret ?? SIGNING_SECRET) : null,
    input.minSeverity ?? 'warning',
  ]);
  return row!;
}
