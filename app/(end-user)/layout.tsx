import Link from 'next/link';
import type { ReactNode } from 'react';
import { SignOutButton } from '@/components/auth/sign-out-button';
import { CreditBalance } from '@/components/credits/credit-balance';
import { requireUser } from '@/lib/auth/current-user';

/** The signed-in user's frame: who they are, their balance (live), sign-out. */
export default async function EndUserLayout({ children }: { children: ReactNode }) {
  const { user } = await requireUser('/jobs');
  return (
    <>
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
    </>
  );
}
