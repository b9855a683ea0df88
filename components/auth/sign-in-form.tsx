'use client';

import { useRouter } from 'next/navigation';
import { useRef, useState, type FormEvent } from 'react';
import type { DemoAccount } from '@/lib/auth/demo-accounts';
import { isStaff, roleOf } from '@/lib/auth/roles';
import { signInSchema } from '@/lib/auth/sign-in-schema';
import { createClient } from '@/lib/supabase/client';

/** Auth's error codes as a person should read them; anything else shows Auth's own message. */
const AUTH_ERRORS: Record<string, string> = {
  invalid_credentials: 'Wrong email or password.',
  user_banned: 'This account has no access: it has been suspended. Ask an admin to restore it.',
  email_not_confirmed: 'This account has no access yet: its email address is not confirmed.',
};

/**
 * The sign-in form. `demoAccounts` is given only where the demo accounts exist (the sign-in page
 * decides, on the server); each fills the form in with one click.
 */
export function SignInForm({ next, demoAccounts, demoPassword }: { next: string; demoAccounts?: readonly DemoAccount[]; demoPassword?: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const email = useRef<HTMLInputElement>(null);
  const password = useRef<HTMLInputElement>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const parsed = signInSchema.safeParse({ email: form.get('email'), password: form.get('password') });
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'Check your email and password');
      return;
    }
    setPending(true);
    setError(null);
    const supabase = createClient();
    const { data, error: authError } = await supabase.auth.signInWithPassword(parsed.data);
    if (authError) {
      setPending(false);
      setError((authError.code && AUTH_ERRORS[authError.code]) ?? (authError.status ? authError.message : 'The sign-in service did not answer. Try again in a moment.'));
      return;
    }
    // Sent here from a console page by an account that is not staff: the console would answer
    // 404, so say it here and leave nobody signed in on the way.
    if (next.startsWith('/admin') && !isStaff(roleOf(data.user))) {
      await supabase.auth.signOut({ scope: 'local' });
      setPending(false);
      setError(`${parsed.data.email} has no access to the staff console. Sign in with a support or admin account.`);
      return;
    }
    router.replace(next);
    router.refresh();
  }

  function fillIn(account: DemoAccount) {
    if (email.current) email.current.value = account.email;
    if (password.current) password.current.value = demoPassword ?? '';
    setError(null);
    password.current?.focus();
  }

  return (
    <>
      {/* method="post": a submit before the scripts have loaded must not put the password in the URL. */}
      <form className="sign-in-form" aria-label="Sign in" method="post" onSubmit={onSubmit} noValidate aria-describedby={error ? 'sign-in-error' : undefined}>
        <label htmlFor="email">Email</label>
        <input ref={email} id="email" name="email" type="email" autoComplete="username" required />
        <label htmlFor="password">Password</label>
        <input ref={password} id="password" name="password" type="password" autoComplete="current-password" required />
        {error ? (
          <p id="sign-in-error" className="notice notice-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {demoAccounts && demoAccounts.length > 0 ? (
        <section className="demo-accounts" aria-labelledby="demo-accounts-title">
          <h2 id="demo-accounts-title">Demo accounts</h2>
          <p className="muted">
            On this local stack only. The password of each is <code>{demoPassword}</code>.
          </p>
          <ul>
            {demoAccounts.map((account) => (
              <li key={account.email}>
                <button type="button" className="demo-account" onClick={() => fillIn(account)}>
                  <span className="demo-account-email">{account.email}</span>
                  <span className="muted">
                    {account.role}, {account.note}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}
