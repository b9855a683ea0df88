import type { Metadata } from 'next';
import { Suspense } from 'react';
import { AuditLog } from '@/components/audit/audit-log';

export const metadata: Metadata = { title: 'Audit log · Job Health' };

export default function AuditPage() {
  return (
    <>
      <h1>Audit log</h1>
      <Suspense fallback={<div className="skeleton" style={{ height: '10rem' }} aria-label="Loading the audit log" />}>
        <AuditLog />
      </Suspense>
    </>
  );
}
