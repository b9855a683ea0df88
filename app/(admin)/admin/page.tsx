import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import { SystemHealth } from '@/components/health/system-health';
import { requireUser } from '@/lib/auth/current-user';
import { healthQueryOptions } from '@/lib/metrics/health-query';
import { parseHealthWindow } from '@/lib/metrics/health-window';
import { makeQueryClient } from '@/lib/query/make-query-client';

export const metadata: Metadata = { title: 'System Health · Job Health' };

export default async function SystemHealthPage({ searchParams }: { searchParams: Promise<{ window?: string | string[] }> }) {
  const [{ supabase }, params] = await Promise.all([requireUser('/admin'), searchParams]);
  const window = parseHealthWindow(params.window);
  const queryClient = makeQueryClient();
  // Fetched with the page and hydrated: the first paint shows figures, not a spinner. A failure
  // here is not fatal; the client shows the error with a retry. This segment has no loading.tsx
  // on purpose: with one, the server sends a skeleton first and the figures in a hidden block
  // that an inline script swaps in; without, the HTML itself carries the figures and charts.
  await queryClient.prefetchQuery(healthQueryOptions(supabase, window));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <SystemHealth initialWindow={window} />
    </HydrationBoundary>
  );
}
