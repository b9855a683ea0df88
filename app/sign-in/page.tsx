import type { Metadata } from 'next';
import { SignInForm } from '@/components/auth/sign-in-form';
import { safeNextPath } from '@/lib/auth/sign-in-schema';

export const metadata: Metadata = { title: 'Sign in · Job Health' };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  return (
    <main>
      <h1>Sign in to Job Health</h1>
      <SignInForm next={safeNextPath(next) ?? '/'} />
    </main>
  );
}
