import { SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import type { DatabaseClient } from '@/lib/supabase/database';
import { traceIdOf } from './job-waterfall';
import { runJobAction, type JobActionInput } from './job-action-mutation';
import type { JobActionOutcome } from './job-actions';

const tracer = trace.getTracer('job-health/app');
/** OpenTelemetry's default limit of links per span. */
const MAX_LINKS = 128;

/**
 * A staff action (retry, requeue, cancel, fail-and-refund; one job or a bulk selection) as a
 * trace of its own, `job.staff_action`, linked to the trace of every job it names, so each job's
 * trace shows who acted on it and the action shows every job it touched (docs/tracing.md). Its
 * own trace, not a span in each job's: one action over fifty jobs is one operation. The jobs'
 * trace contexts are read only when the span is recorded (tracing on and sampled): with tracing
 * off this is the bare action. The reason is not on the span: it is free text, kept in the audit log.
 */
export async function runJobActionInTrace(supabase: DatabaseClient, input: JobActionInput): Promise<JobActionOutcome[]> {
  return tracer.startActiveSpan(
    'job.staff_action',
    { root: true, attributes: { 'jobhealth.action': input.action, 'jobhealth.jobs': input.ids.length } },
    async (span) => {
      try {
        if (span.isRecording()) {
          const { data } = await supabase.from('jobs').select('id,traceparent').in('id', input.ids.slice(0, MAX_LINKS));
          const links: Link[] = [];
          for (const row of data ?? []) {
            const traceId = traceIdOf(row.traceparent);
            if (traceId) links.push({ context: { traceId, spanId: row.traceparent!.slice(36, 52), traceFlags: 1, isRemote: true }, attributes: { 'job.id': row.id } });
          }
          span.addLinks(links);
        }
        const outcomes = await runJobAction(supabase, input);
        span.setAttribute('jobhealth.done', outcomes.filter((o) => o.outcome === 'done').length);
        return outcomes;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        span.setAttribute('error.type', (error as Error).name || 'Error');
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
