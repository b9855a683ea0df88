import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { tracesEndpoint } from '../../supabase/functions/_shared/otel-endpoint.ts';

/**
 * The app's trace export (docs/tracing.md), registered by instrumentation.ts at server start:
 * OTLP over HTTP (JSON) to what the standard OTEL_* variables name, spans batched in the
 * background. The OpenTelemetry SDK reads the variables itself (endpoint, headers, timeout,
 * OTEL_TRACES_SAMPLER and its argument, OTEL_RESOURCE_ATTRIBUTES); with no endpoint nothing is
 * registered, @opentelemetry/api stays a no-op and no span is even allocated.
 *
 * Not @vercel/otel: it wants the experimental logs, metrics and instrumentation packages as
 * peers for an app that only exports traces; this is Next.js' "manual configuration" with the
 * same SDK underneath. Next.js reports its own request spans through the provider registered here.
 */
export function registerAppTracing(env: NodeJS.ProcessEnv = process.env): BasicTracerProvider | null {
  if (!tracesEndpoint((name) => env[name])) return null;
  const resource = resourceFromAttributes({ 'service.name': 'job-health-app' }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}
