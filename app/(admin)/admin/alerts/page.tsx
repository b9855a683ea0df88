import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import type { Metadata } from 'next';
import Link from 'next/link';
import { AlertChannelsPanel } from '@/components/alerts/alert-channels-panel';
import { AlertRulesTable } from '@/components/alerts/alert-rules-table';
import { DeliveryLog } from '@/components/alerts/delivery-log';
import { EvaluationStatus } from '@/components/alerts/evaluation-status';
import { alertChannelsQueryOptions } from '@/lib/alerts/alert-channels-query';
import { alertDeliveriesQueryOptions } from '@/lib/alerts/alert-deliveries-query';
import { alertRulesQueryOptions } from '@/lib/alerts/alert-rules-query';
import { evaluationStateQueryOptions } from '@/lib/alerts/evaluation-state-query';
import { requireUser } from '@/lib/auth/current-user';
import { roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';
import '@/components/admin-jobs/admin-tables.css';

export const metadata: Metadata = { title: 'Alerts · Job Health' };

/** Rules, channels and the delivery log: support reads, admins change. */
export default async function AlertsPage() {
  const { user, supabase } = await requireUser('/admin/alerts');
  const role = roleOf(user) ?? 'user';
  const queryClient = makeQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(alertRulesQueryOptions(supabase)),
    queryClient.prefetchQuery(alertChannelsQueryOptions(supabase)),
    queryClient.prefetchQuery(alertDeliveriesQueryOptions(supabase)),
    queryClient.prefetchQuery(evaluationStateQueryOptions(supabase)),
  ]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <div className="row spread">
        <h1>Alerts</h1>
        <Link href="/admin/incidents">Incidents</Link>
      </div>
      <div className="stack">
        <section aria-labelledby="alert-rules" className="stack">
          <div className="row spread">
            <h2 id="alert-rules">Rules</h2>
            <EvaluationStatus />
          </div>
          <AlertRulesTable role={role} />
        </section>
        <section aria-labelledby="alert-channels" className="stack">
          <h2 id="alert-channels">Channels</h2>
          <AlertChannelsPanel role={role} />
        </section>
        <section aria-labelledby="delivery-log" className="stack">
          <h2 id="delivery-log">Delivery log</h2>
          <DeliveryLog />
        </section>
      </div>
    </HydrationBoundary>
  );
}
