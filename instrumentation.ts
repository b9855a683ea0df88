// Next.js calls register() once when a server instance starts (its documented place for
// OpenTelemetry). Node only: the edge runtime (the proxy) creates no job and exports nothing.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { registerAppTracing } = await import('./lib/tracing/register');
    registerAppTracing();
  }
}
