import type { JobEvent, ProviderCall } from './job-records-query';

/**
 * A job's spans as a waterfall, built from what the database records anyway (the job's
 * timeline in job_events and its Gemini calls in provider_calls), so the job page shows where
 * the time went with no tracing backend at all. The rows follow the spans the app and the worker
 * export (docs/tracing.md): the time in the queue, each attempt, each call inside it, the waits
 * between calls, the store-and-complete after the last one, and the end, with the staff member
 * who moved the job where one did.
 */
export type WaterfallKind = 'queue' | 'delay' | 'attempt' | 'call' | 'call_error' | 'wait' | 'store' | 'end' | 'staff';

export interface WaterfallSpan {
  key: string;
  label: string;
  detail?: string;
  kind: WaterfallKind;
  /** 0 for the job's own phases, 1 for what happened inside an attempt. */
  depth: 0 | 1;
  /** Epoch ms. A marker (the end, a staff action) has end === start. */
  start: number;
  end: number;
  /** Still going: the bar runs to `now`. */
  open?: boolean;
}

export interface Waterfall {
  start: number;
  end: number;
  spans: WaterfallSpan[];
}

const STAFF = new Set(['admin', 'support']);

function staffNote(event: JobEvent): string | undefined {
  if (!STAFF.has(event.actor_role)) return undefined;
  const reason = typeof event.detail.reason === 'string' ? `: ${event.detail.reason}` : '';
  return `by ${event.actor_role}${reason}`;
}

export function buildJobWaterfall(events: JobEvent[], calls: ProviderCall[], now: number): Waterfall | null {
  if (events.length === 0) return null;
  const ordered = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id - b.id);
  const spans: WaterfallSpan[] = [];
  const callsByAttempt = new Map<number, ProviderCall[]>();
  for (const call of [...calls].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at))) {
    const list = callsByAttempt.get(call.attempt ?? 0) ?? [];
    list.push(call);
    callsByAttempt.set(call.attempt ?? 0, list);
  }

  ordered.forEach((event, index) => {
    const start = Date.parse(event.at);
    const next = ordered[index + 1];
    const end = next ? Date.parse(next.at) : now;
    const open = !next;
    const staff = staffNote(event);
    switch (event.to_status) {
      case 'queued': {
        const runAt = typeof event.detail.run_at === 'string' ? Date.parse(event.detail.run_at) : NaN;
        const label = event.from_status === null ? 'Queued' : staff || event.from_status !== 'running' ? 'Requeued' : 'Retry scheduled';
        if (Number.isFinite(runAt) && runAt > start) {
          // fail_job's backoff between attempts: not claimable before run_at.
          spans.push({ key: `${event.id}-delay`, label: `${label}: waiting to retry`, detail: staff, kind: 'delay', depth: 0, start, end: Math.min(runAt, end), open: open && runAt > now });
          if (runAt < end) spans.push({ key: `${event.id}-queue`, label: 'In the queue', kind: 'queue', depth: 0, start: runAt, end, open });
        } else {
          spans.push({ key: `${event.id}-queue`, label: label === 'Queued' ? 'In the queue' : `${label}, in the queue`, detail: staff, kind: staff ? 'staff' : 'queue', depth: 0, start, end, open });
        }
        break;
      }
      case 'running': {
        spans.push({ key: `${event.id}-attempt`, label: `Attempt ${event.attempt}`, detail: staff, kind: 'attempt', depth: 0, start, end, open });
        const attemptCalls = callsByAttempt.get(event.attempt) ?? [];
        let previousEnd: number | null = null;
        let previous: ProviderCall | null = null;
        for (const call of attemptCalls) {
          const callStart = Date.parse(call.started_at);
          if (callStart < start || callStart > end) continue;
          if (previousEnd !== null && callStart > previousEnd) {
            spans.push({
              key: `${call.id}-wait`,
              label: previous?.retry_after_ms != null ? 'Retry-After wait' : 'Backoff',
              detail: previous?.retry_after_ms != null ? `asked ${previous.retry_after_ms} ms` : undefined,
              kind: 'wait',
              depth: 1,
              start: previousEnd,
              end: callStart,
            });
          }
          const callEnd = callStart + call.duration_ms;
          spans.push({
            key: `${call.id}-call`,
            label: `Gemini ${call.model_id}`,
            detail: `${call.outcome}${call.http_status ? ` · HTTP ${call.http_status}` : ''}`,
            kind: call.outcome === 'ok' ? 'call' : 'call_error',
            depth: 1,
            start: callStart,
            end: callEnd,
          });
          previousEnd = callEnd;
          previous = call;
        }
        if (next?.to_status === 'succeeded' && previousEnd !== null && previousEnd < end) {
          spans.push({ key: `${event.id}-store`, label: 'Upload and completion', kind: 'store', depth: 1, start: previousEnd, end });
        }
        break;
      }
      default: {
        const error = typeof event.detail.error_class === 'string' ? event.detail.error_class : undefined;
        const label = event.to_status === 'succeeded' ? 'Succeeded' : event.to_status === 'failed' ? 'Failed and refunded' : 'Cancelled and refunded';
        spans.push({ key: `${event.id}-end`, label, detail: [error, staff].filter(Boolean).join(' · ') || undefined, kind: staff ? 'staff' : 'end', depth: 0, start, end: start });
      }
    }
  });

  const first = Date.parse(ordered[0]!.at);
  const last = Math.max(...spans.map((s) => (s.open ? Math.max(now, s.end) : s.end)), first);
  return { start: first, end: last, spans };
}

/** The trace id of a W3C traceparent, or null. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  const match = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '');
  return match ? match[1]! : null;
}
