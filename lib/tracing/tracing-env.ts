/**
 * Where traces go, from the standard variables, or null when nothing is to be exported:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces;
 * none when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The worker reads the same
 * variables the same way (supabase/functions/job-worker/tracing.ts).
 */
export function tracesEndpoint(env: Record<string, string | undefined>): string | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : null);
}

/**
 * The operator's tracing tool's page for a trace, from JOBHEALTH_TRACE_URL_TEMPLATE with
 * `{traceId}` in it (for Grafana Tempo, Honeycomb, Jaeger...); null when unset or malformed.
 * Only http(s) URLs: the template is the operator's, but it ends up in an href.
 */
export function traceUrl(template: string | undefined, traceId: string): string | null {
  if (!template || !template.includes('{traceId}') || !/^[0-9a-f]{32}$/.test(traceId)) return null;
  const url = template.replaceAll('{traceId}', traceId);
  return /^https?:\/\//i.test(url) ? url : null;
}
