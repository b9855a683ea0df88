import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import { RetentionOverview } from '@/components/retention/retention-overview';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';
import { retentionStatusQueryOptions } from '@/lib/retention/retention-status-query';

export const metadata: Metadata = { title: 'Data retention · Job Health' };

/** What the database holds and for how long: support reads, admins change a window. */
export default async function RetentionPage() {
  const { user, supabase } = await requireUser('/admin/retention');
  const role = roleOf(user) ?? 'user';
  const queryClient = makeQueryClient();
  await queryClient.prefetchQuery(retentionStatusQueryOptions(supabase));
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <h1>Data retention</h1>
      <p className="muted">
        Jobs, the credits ledger, the audit log and incidents are kept. Raw telemetry is removed after its window; the rollups that
        System Health draws from are kept much longer, so its charts keep their history.
      </p>
      <RetentionOverview role={role} />
    </HydrationBoundary>
  );
}
