import Link from 'next/link';
import type { ReactNode } from 'react';
import { SignOutButton } from '@/components/auth/sign-out-button';
import { CreditBalance } from '@/components/credits/credit-balance';
import { JobNotices } from '@/components/jobs/job-notices';
import { requireUser } from '@/lib/auth/current-user';
import { UserJobChangesProvider } from '@/lib/jobs/user-jobs-topic';

/**
 * The signed-in user's frame: who they are, their balance, sign-out, and the tab's one live
 * subscription (their private topic), which keeps every page under it current and raises the
 * "job finished" notices.
 */
export default async function EndUserLayout({ children }: { children: ReactNode }) {
  const { user } = await requireUser('/jobs');
  return (
    <UserJobChangesProvider userId={user.id}>
      <header className="app-header">
        <Link href="/jobs" className="brand">
          Job Health
        </Link>
        <nav aria-label="Account" className="account">
          <CreditBalance userId={user.id} />
          <span className="muted">{user.email}</span>
          <SignOutButton />
        </nav>
      </header>
      <main className="page">{children}</main>
      <JobNotices />
    </UserJobChangesProvider>
  );
}
