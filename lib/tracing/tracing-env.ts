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
