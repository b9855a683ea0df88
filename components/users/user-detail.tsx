'use client';

import { Fact } from '@/components/format/fact';
import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import { JobExplorer } from '@/components/admin-jobs/job-explorer';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { TableScroll } from '@/components/tables/table-scroll';
import type { AppRole } from '@/lib/auth/roles';
import { useUserLedger } from '@/lib/credits/user-ledger-query';
import { useUserProfile } from '@/lib/users/user-profile-query';
import { GrantCreditsForm } from './grant-credits-form';
import { LedgerTable } from './ledger-table';
import '@/components/admin-jobs/admin-tables.css';


/** One user for support: balance, grant credits, ledger, and their jobs (with fail-and-refund). */
export function UserDetail({ userId, role }: { userId: string; role: AppRole }) {
  const profile = useUserProfile(userId);
  const ledger = useUserLedger(userId);

  if (profile.isPending) return <div className="skeleton" style={{ height: '10rem' }} aria-busy="true" aria-label="Loading the user" />;
  if (profile.isError) return <ErrorPanel title="This user could not be loaded" error={profile.error} onRetry={() => void profile.refetch()} />;
  const user = profile.data;
  if (!user) return <p className="card">This user no longer exists.</p>;

  return (
    <div className="stack">
      <h1>{user.email}</h1>
      <div className="section-grid">
        <section className="card" aria-label="Account">
          <dl className="facts">
            <dt>User id</dt>
            <dd className="mono">{user.id}</dd>
            <dt>Role</dt>
            <dd>{user.role}</dd>
            <Fact term="Balance">{user.balance} credits</Fact>
            <dt>Joined</dt>
            <dd><Timestamp iso={user.created_at} /></dd>
          </dl>
          <p>
            <Link href={`/admin/audit?target=${user.id}`}>Audit entries for this user</Link>
          </p>
        </section>
        <GrantCreditsForm userId={user.id} />
      </div>
      <section aria-labelledby="user-jobs-h">
        <h2 id="user-jobs-h">Jobs</h2>
        <JobExplorer role={role} fixedUser={user.id} />
      </section>
      <section className="card" aria-labelledby="user-ledger-h">
        <h2 id="user-ledger-h">Ledger</h2>
        {ledger.isPending ? (
          <div className="skeleton" style={{ height: '6rem' }} aria-label="Loading the ledger" />
        ) : ledger.isError ? (
          <ErrorPanel title="The ledger could not be loaded" error={ledger.error} onRetry={() => void ledger.refetch()} />
        ) : (
          <TableScroll label="Ledger">
            <LedgerTable entries={ledger.data} column="job" />
          </TableScroll>
        )}
      </section>
    </div>
  );
}
