/**
 * Where traces go, read the same way by the app (instrumentation.ts) and the worker: from the
 * standard variables, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else
 * OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces; null (nothing exported) when neither is set, or
 * when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracesEndpoint(env: (name: string) => string | undefined): string | null {
  if (env('OTEL_SDK_DISABLED')?.trim().toLowerCase() === 'true') return null;
  if (env('OTEL_TRACES_EXPORTER')?.trim().toLowerCase() === 'none') return null;
  const traces = env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')?.trim();
  const base = env('OTEL_EXPORTER_OTLP_ENDPOINT')?.trim();
  return traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : null);
}
