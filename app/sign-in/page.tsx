import type { Metadata } from 'next';
import { SignInForm } from '@/components/auth/sign-in-form';
import { DEMO_ACCOUNTS, DEMO_PASSWORD, isLocalProject } from '@/lib/auth/demo-accounts';
import { safeNextPath } from '@/lib/auth/sign-in-schema';
import { publicEnv } from '@/lib/env/public';
import './sign-in.css';

export const metadata: Metadata = { title: 'Sign in · Job Health' };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  // Decided here, on the server, from the project URL: a hosted deployment's page carries no
  // trace of the demo accounts, not even in its scripts.
  const local = isLocalProject(publicEnv().NEXT_PUBLIC_SUPABASE_URL);
  return (
    <main className="sign-in-page">
      <div className="sign-in-card card">
        <p className="sign-in-brand">Job Health</p>
        <h1>Sign in</h1>
        <p className="muted sign-in-lead">Image generation jobs and their health, live.</p>
        <SignInForm
          next={safeNextPath(next) ?? '/'}
          demoAccounts={local ? DEMO_ACCOUNTS : undefined}
          demoPassword={local ? DEMO_PASSWORD : undefined}
        />
      </div>
    </main>
  );
}
