import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { AdminNav } from '@/components/admin/admin-nav';
import { SignOutButton } from '@/components/auth/sign-out-button';
import { requireUser } from '@/lib/auth/current-user';
import { isStaff, roleOf } from '@/lib/auth/roles';
import './admin.css';

/**
 * The staff console's frame. Anyone who is not support or admin gets a 404, not a "forbidden":
 * the console does not admit it exists. This is the first gate only; every SQL function the
 * pages call checks the role again.
 */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const { user } = await requireUser('/admin');
  const role = roleOf(user);
  if (!isStaff(role)) notFound();
  return (
    <div className="admin-shell">
      <header className="app-header">
        <Link href="/admin" className="brand">
          Job Health <span className="muted">console</span>
        </Link>
        <nav aria-label="Account" className="account">
          <span className="muted">
            {user.email} · <span data-testid="admin-role">{role}</span>
          </span>
          <SignOutButton />
        </nav>
      </header>
      <div className="admin-body">
        <AdminNav role={role} />
        <main className="admin-main">{children}</main>
      </div>
    </div>
  );
}
