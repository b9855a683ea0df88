import 'server-only';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { createClient } from '@/lib/supabase/server';

/** Who is signed in, from the verified claims of their access token. */
export interface CurrentUser {
  id: string;
  email: string;
  /** Server-set metadata; app_metadata.role is the staff role (see roles.ts). */
  app_metadata: Record<string, unknown>;
}

/**
 * The signed-in user of this request, or null. getClaims() verifies the access token's signature
 * against the project's JWKS (fetched once and cached by auth-js) instead of asking Auth on every
 * call as getUser() does, so a page costs no Auth round trip; a forged cookie fails the
 * signature. React's cache() makes it once per request, however many layouts and pages ask.
 * The trade-off: a session ended elsewhere stays valid here until its token expires (an hour at
 * most), the same as for every other Supabase service that verifies tokens locally.
 */
export const getCurrentUser = cache(async (): Promise<CurrentUser | null> => {
  const supabase = await createClient();
  const { data, error } = await supabase.auth.getClaims();
  const claims = data?.claims;
  if (error || !claims || typeof claims.sub !== 'string' || claims.role !== 'authenticated') return null;
  return {
    id: claims.sub,
    email: typeof claims.email === 'string' ? claims.email : '',
    app_metadata: (claims.app_metadata as Record<string, unknown> | undefined) ?? {},
  };
});

/** The signed-in user for a page, or a redirect to sign-in that brings them back afterwards. */
export async function requireUser(returnTo: string): Promise<{ user: CurrentUser; supabase: Awaited<ReturnType<typeof createClient>> }> {
  const [user, supabase] = await Promise.all([getCurrentUser(), createClient()]);
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(returnTo)}`);
  return { user, supabase };
}
