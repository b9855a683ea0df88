'use client';

import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { signInSchema } from '@/lib/auth/sign-in-schema';
import { createClient } from '@/lib/supabase/client';

export function SignInForm({ next }: { next: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

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
    const { error: authError } = await createClient().auth.signInWithPassword(parsed.data);
    if (authError) {
      setPending(false);
      setError(authError.code === 'invalid_credentials' ? 'Wrong email or password' : authError.message);
      return;
    }
    router.replace(next);
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-describedby={error ? 'sign-in-error' : undefined}>
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" autoComplete="username" required />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required />
      {error ? (
        <p id="sign-in-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
