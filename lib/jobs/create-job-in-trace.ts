import { context, propagation, SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createJob, JobActionError } from './create-job-mutation';
import type { CreateJobInput } from './create-job-schema';
import type { Job } from './job-schema';

const tracer = trace.getTracer('job-health/app');

/**
 * create_job inside the span that starts the job's trace (docs/tracing.md). The span is always
 * the root of a new trace: a trace context that came with the request (from a browser, which
 * anyone can forge) is only linked, so no client can put its job, or the spans of everything
 * that follows, on someone else's trace. The span's own traceparent goes to create_job as the
 * request's `traceparent` header, where the database keeps it with the job (or starts a fresh
 * trace when it is unusable) and the worker continues it.
 *
 * `incoming`: a traceparent the request brought; by default the request span Next.js made from
 * the request's headers, if any. With tracing off the span is a no-op, no header is sent, and
 * the database starts the job's trace itself.
 */
export async function createJobInTrace(supabase: DatabaseClient, input: CreateJobInput, incoming?: string | null): Promise<Job> {
  const requestContext = incoming ? propagation.extract(context.active(), { traceparent: incoming }) : context.active();
  const requestSpan = trace.getSpanContext(requestContext);
  const links: Link[] = requestSpan && trace.isSpanContextValid(requestSpan) ? [{ context: requestSpan }] : [];
  return tracer.startActiveSpan(
    'job.create',
    { root: true, kind: SpanKind.PRODUCER, links, attributes: { 'job.model': input.modelId, 'jobhealth.images': input.numberOfImages } },
    async (span) => {
      try {
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        const job = await createJob(supabase, input, carrier.traceparent);
        span.setAttribute('job.id', job.id);
        return job;
      } catch (error) {
        const kind = error instanceof JobActionError ? error.view.kind : 'unknown';
        span.setAttribute('error.type', kind);
        span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
