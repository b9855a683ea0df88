import type { Metadata } from 'next';
import { Suspense } from 'react';
import { UserSearch } from '@/components/users/user-search';

export const metadata: Metadata = { title: 'Users · Job Health' };

export default function UsersPage() {
  return (
    <>
      <h1>Users</h1>
      <Suspense fallback={<div className="skeleton" style={{ height: '5rem' }} aria-label="Loading" />}>
        <UserSearch />
      </Suspense>
    </>
  );
}
