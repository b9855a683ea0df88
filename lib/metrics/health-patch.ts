import type { AdminJobChange } from '@/lib/admin-jobs/admin-job-change';
import type { HealthDocument, HealthSeries, ModelHealth } from './health-schema';

/**
 * Applies a coalesced batch of job changes to the cached System Health document, so the counts
 * move the moment jobs do without asking the database again. What a change says exactly is
 * patched: queue depth and running (current, per model, and the newest bucket), and the
 * created / claimed / succeeded / failed / cancelled counts of the bucket the change happened
 * in. Everything else (latency percentiles, circuits, refunds, oldest queued age, workers) is
 * left for the event-triggered refetch.
 *
 * Unchanged parts keep their identity (a progress-only batch returns the same document), so
 * memoised charts whose data did not move do not render again.
 */
type Counted = 'created' | 'claimed' | 'succeeded' | 'failed' | 'cancelled';

/** What one old → new status transition adds to the counts. */
export function transitionCounts(change: Pick<AdminJobChange, 'status' | 'old_status'>): Counted[] {
  const { old_status: from, status: to } = change;
  if (from === to) return [];
  const counted: Counted[] = [];
  if (from === null) counted.push('created');
  if (from === 'queued' && to === 'running') counted.push('claimed');
  if (to === 'succeeded' || to === 'failed' || to === 'cancelled') counted.push(to);
  return counted;
}

/** How one transition moves queue depth and running. */
function depthDelta(change: Pick<AdminJobChange, 'status' | 'old_status'>): { queued: number; running: number } {
  const delta = { queued: 0, running: 0 };
  if (change.old_status === change.status) return delta;
  if (change.old_status === 'queued') delta.queued--;
  if (change.old_status === 'running') delta.running--;
  if (change.status === 'queued') delta.queued++;
  if (change.status === 'running') delta.running++;
  return delta;
}

const failureRate = (succeeded: number, failed: number) =>
  succeeded + failed === 0 ? null : Math.round((failed / (succeeded + failed)) * 10_000) / 10_000;

/**
 * The series with room for `time`: when the newest change is past the last bucket, the window
 * slides (new empty buckets at the end, as many dropped at the start). Returns the copy and the
 * bucket index of `time`, or -1 when it falls outside the window.
 */
function slideTo(series: HealthSeries, bucketMs: number, time: number): { series: HealthSeries; index: (t: number) => number } {
  const first = Date.parse(series.bucket[0] ?? '');
  const length = series.bucket.length;
  if (!Number.isFinite(first) || length === 0) return { series, index: () => -1 };
  const needed = Math.floor((time - first) / bucketMs) - (length - 1);
  let shift = 0;
  let next = series;
  if (needed > 0) {
    shift = Math.min(needed, length);
    const added = Array.from({ length: shift }, (_, i) => new Date(first + (length + i) * bucketMs).toISOString());
    const pad = <T,>(values: T[], fill: T) => [...values.slice(shift), ...Array<T>(shift).fill(fill)];
    next = {
      bucket: [...series.bucket.slice(shift), ...added],
      created: pad(series.created, 0),
      claimed: pad(series.claimed, 0),
      succeeded: pad(series.succeeded, 0),
      failed: pad(series.failed, 0),
      requeued: pad(series.requeued, 0),
      retried: pad(series.retried, 0),
      cancelled: pad(series.cancelled, 0),
      refunds: pad(series.refunds, 0),
      refunded_credits: pad(series.refunded_credits, 0),
      failure_rate: pad<number | null>(series.failure_rate, null),
      queued: pad<number | null>(series.queued, null),
      running: pad<number | null>(series.running, null),
    };
  }
  const start = first + shift * bucketMs;
  return {
    series: next,
    index: (t) => {
      const i = Math.floor((t - start) / bucketMs);
      return i >= 0 && i < length ? i : -1;
    },
  };
}

export function applyJobChangesToHealth(doc: HealthDocument, changes: readonly AdminJobChange[]): HealthDocument {
  // A change stamped before the document was generated is already counted in it: its broadcast
  // merely arrived after the refetch did. Applying it again would count it twice.
  const generatedAt = Date.parse(doc.generated_at);
  const transitions = changes.filter((c) => c.old_status !== c.status && !(Date.parse(c.updated_at) < generatedAt));
  if (transitions.length === 0) return doc;

  const bucketMs = doc.window.bucket_seconds * 1000;
  const newest = Math.max(...transitions.map((c) => Date.parse(c.updated_at)).filter(Number.isFinite));
  const slid = slideTo(doc.series, bucketMs, newest);
  const series: HealthSeries = {
    ...slid.series,
    created: [...slid.series.created],
    claimed: [...slid.series.claimed],
    succeeded: [...slid.series.succeeded],
    failed: [...slid.series.failed],
    cancelled: [...slid.series.cancelled],
    failure_rate: [...slid.series.failure_rate],
    queued: [...slid.series.queued],
    running: [...slid.series.running],
  };
  const totals = { ...doc.totals };
  const current = { ...doc.current };
  const modelDeltas = new Map<string, { queued: number; running: number }>();

  for (const change of transitions) {
    const delta = depthDelta(change);
    current.queued += delta.queued;
    current.running += delta.running;
    const perModel = modelDeltas.get(change.model_id) ?? { queued: 0, running: 0 };
    perModel.queued += delta.queued;
    perModel.running += delta.running;
    modelDeltas.set(change.model_id, perModel);

    const i = slid.index(Date.parse(change.updated_at));
    for (const counted of transitionCounts(change)) {
      if (i >= 0) series[counted][i]! += 1;
      totals[counted] += 1;
    }
    if (i >= 0) series.failure_rate[i] = failureRate(series.succeeded[i]!, series.failed[i]!);
  }
  // Events can cross a refetch; a count below zero is never true.
  current.queued = Math.max(0, current.queued);
  current.running = Math.max(0, current.running);
  const last = series.bucket.length - 1;
  if (last >= 0) {
    series.queued[last] = current.queued;
    series.running[last] = current.running;
  }
  totals.failure_rate = failureRate(totals.succeeded, totals.failed);

  const models = doc.models.map((model): ModelHealth => {
    const delta = modelDeltas.get(model.model_id);
    if (!delta || (delta.queued === 0 && delta.running === 0)) return model;
    return { ...model, queued: Math.max(0, model.queued + delta.queued), running: Math.max(0, model.running + delta.running) };
  });

  return { ...doc, current, totals, series, models };
}

/** The "recent activity" list: newest first, one row per job (its latest change), at most `limit`. */
export function appendActivity(list: readonly AdminJobChange[], changes: readonly AdminJobChange[], limit = 12): AdminJobChange[] {
  if (changes.length === 0) return list as AdminJobChange[];
  const incoming = [...changes].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
  const ids = new Set(incoming.map((c) => c.id));
  return [...incoming, ...list.filter((c) => !ids.has(c.id))].slice(0, limit);
}
