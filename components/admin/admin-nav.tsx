'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

const LINKS = [
  { href: '/admin', label: 'System Health', adminOnly: false },
  { href: '/admin/jobs', label: 'Jobs', adminOnly: false },
  { href: '/admin/users', label: 'Users', adminOnly: false },
  { href: '/admin/incidents', label: 'Incidents', adminOnly: false },
  { href: '/admin/alerts', label: 'Alerts', adminOnly: false },
  { href: '/admin/audit', label: 'Audit log', adminOnly: false },
  { href: '/admin/retention', label: 'Data retention', adminOnly: false },
  { href: '/admin/models', label: 'Models', adminOnly: true },
] as const;

/** The console's sections; the current one is marked for screen readers (aria-current). */
export function AdminNav({ role }: { role: 'admin' | 'support' }) {
  const pathname = usePathname();
  return (
    <nav aria-label="Console" className="admin-nav">
      <ul>
        {LINKS.filter((link) => role === 'admin' || !link.adminOnly).map((link) => {
          const current = link.href === '/admin' ? pathname === '/admin' : pathname === link.href || pathname.startsWith(`${link.href}/`);
          return (
            <li key={link.href}>
              <Link href={link.href} aria-current={current ? 'page' : undefined}>
                {link.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
