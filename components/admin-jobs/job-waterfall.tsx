'use client';

import type { JobEvent, ProviderCall } from '@/lib/admin-jobs/job-records-query';
import { buildJobWaterfall, traceIdOf } from '@/lib/admin-jobs/job-waterfall';
import { traceUrl } from '@/lib/tracing/tracing-env';
import './job-waterfall.css';

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/**
 * The job's spans as a waterfall (lib/admin-jobs/job-waterfall.ts), from its timeline and calls,
 * with its trace id and, when the operator configured one, a link to the trace in their tracing
 * tool. `latest`: the latest time the records know of (the job's updated_at): an unfinished
 * phase is drawn to there, never to the browser's clock, so server and client render the same.
 */
export function JobWaterfall({
  events,
  calls,
  traceparent,
  latest,
  traceUrlTemplate,
}: {
  events: JobEvent[];
  calls: ProviderCall[];
  traceparent: string | null;
  latest: string;
  traceUrlTemplate?: string;
}) {
  const lastCallEnd = Math.max(0, ...calls.map((c) => Date.parse(c.started_at) + c.duration_ms));
  const waterfall = buildJobWaterfall(events, calls, Math.max(Date.parse(latest), lastCallEnd));
  const traceId = traceIdOf(traceparent);
  const url = traceId ? traceUrl(traceUrlTemplate, traceId) : null;
  const total = waterfall ? Math.max(1, waterfall.end - waterfall.start) : 1;
  return (
    <section className="card" aria-labelledby="waterfall-h">
      <h2 id="waterfall-h">Trace</h2>
      <p className="muted">
        {traceId ? (
          <>
            Trace id <span className="mono">{traceId}</span>
            {url && (
              <>
                {' · '}
                <a href={url} target="_blank" rel="noreferrer">
                  Open the trace
                </a>
              </>
            )}
          </>
        ) : (
          'This job was created before jobs carried a trace id.'
        )}
      </p>
      {waterfall ? (
        <ol className="waterfall" aria-label="Trace waterfall">
          {waterfall.spans.map((span) => {
            const left = ((span.start - waterfall.start) / total) * 100;
            const width = ((span.end - span.start) / total) * 100;
            return (
              <li key={span.key} className={`waterfall-row depth-${span.depth}`} data-kind={span.kind}>
                <span className="waterfall-label">
                  {span.label}
                  {span.detail && <span className="muted"> · {span.detail}</span>}
                </span>
                <span className="waterfall-track" aria-hidden="true">
                  <span className={`waterfall-bar kind-${span.kind}`} style={{ left: `${left}%`, width: `${width}%` }} />
                </span>
                <span className="waterfall-duration">
                  {span.end === span.start ? `at +${duration(span.start - waterfall.start)}` : duration(span.end - span.start)}
                  {span.open && ' so far'}
                </span>
              </li>
            );
          })}
        </ol>
      ) : (
        <p className="muted">Nothing recorded for this job yet.</p>
      )}
    </section>
  );
}
