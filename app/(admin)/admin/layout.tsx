import { dehydrate, HydrationBoundary } from '@tanstack/react-query';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { AdminNav } from '@/components/admin/admin-nav';
import { IncidentBanner } from '@/components/alerts/incident-banner';
import { SignOutButton } from '@/components/auth/sign-out-button';
import { openIncidentsQueryOptions } from '@/lib/alerts/open-incidents-query';
import { requireUser } from '@/lib/auth/current-user';
import { isStaff, roleOf } from '@/lib/auth/roles';
import { makeQueryClient } from '@/lib/query/make-query-client';
import '@/components/alerts/alerts.css';
import './admin.css';

/**
 * The staff console's frame. Anyone who is not support or admin gets a 404, not a "forbidden":
 * the console does not admit it exists. This is the first gate only; every SQL function the
 * pages call checks the role again.
 */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const { user, supabase } = await requireUser('/admin');
  const role = roleOf(user);
  if (!isStaff(role)) notFound();
  // The open incidents come with the page, so the banner is there on the first paint; the
  // admin:alerts topic keeps it current from then on.
  const queryClient = makeQueryClient();
  await queryClient.prefetchQuery(openIncidentsQueryOptions(supabase));
  return (
    <div className="admin-shell">
      <header className="app-header">
        <Link href="/admin" className="brand">
          Job Health <span className="muted">console</span>
        </Link>
        <nav aria-label="Account" className="account">
          <span className="muted">
            {user.email} · {role}
          </span>
          <SignOutButton />
        </nav>
      </header>
      <div className="admin-body">
        <AdminNav role={role} />
        <main className="admin-main">
          <HydrationBoundary state={dehydrate(queryClient)}>
            <IncidentBanner />
          </HydrationBoundary>
          {children}
        </main>
      </div>
    </div>
  );
}
