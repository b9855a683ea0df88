'use client';

import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { TableScroll } from '@/components/tables/table-scroll';
import { useFindUsers } from '@/lib/users/find-users-query';
import { userSearchSchema } from '@/lib/users/user-profile-schema';
import '@/components/admin-jobs/admin-tables.css';

/** Find a user by email (exact, or the start of it); the term lives in the URL so a lookup is a link. */
export function UserSearch() {
  const router = useRouter();
  const pathname = usePathname();
  const email = useSearchParams().get('email') ?? '';
  const [invalid, setInvalid] = useState<string | null>(null);
  const results = useFindUsers(email);

  const submit = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const parsed = userSearchSchema.safeParse({ email: new FormData(event.currentTarget).get('email') });
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'Enter an email');
      return;
    }
    setInvalid(null);
    router.push(`${pathname}?email=${encodeURIComponent(parsed.data.email)}`);
  };

  return (
    <section className="stack">
      <form className="card row" role="search" aria-label="Find a user" onSubmit={submit} key={email} noValidate>
        <div style={{ flex: 1 }}>
          <label htmlFor="user-email">Email</label>
          <input id="user-email" name="email" type="search" defaultValue={email} maxLength={320} aria-invalid={invalid ? true : undefined} />
          {invalid && (
            <p className="error-text" role="alert">
              {invalid}
            </p>
          )}
        </div>
        <div style={{ alignSelf: 'end' }}>
          <button type="submit">Find user</button>
        </div>
      </form>
      {email === '' ? (
        <p className="muted">Enter an email address, or its beginning, to find a user.</p>
      ) : results.isPending ? (
        <div className="skeleton" style={{ height: '6rem' }} aria-busy="true" aria-label="Searching" />
      ) : results.isError ? (
        <ErrorPanel title="The search failed" error={results.error} onRetry={() => void results.refetch()} />
      ) : results.data.length === 0 ? (
        <div className="card">
          <h2>No user found</h2>
          <p className="muted">No email starts with “{email}”.</p>
        </div>
      ) : (
        <div className="card">
          <TableScroll label="Users found">
            <table className="data-table" aria-label="Users found">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Balance</th>
                  <th scope="col">Last sign-in</th>
                </tr>
              </thead>
              <tbody>
                {results.data.map((u) => (
                  <tr key={u.id}>
                    <td>
                      <Link href={`/admin/users/${u.id}`}>{u.email}</Link>
                    </td>
                    <td>{u.role}</td>
                    <td>{u.balance}</td>
                    <td><Timestamp iso={u.last_sign_in_at} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </div>
      )}
    </section>
  );
}
