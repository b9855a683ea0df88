import 'server-only';
import type { User } from '@supabase/supabase-js';
import { redirect } from 'next/navigation';
import { createClient } from '@/lib/supabase/server';

/**
 * The signed-in user for a page, or a redirect to sign-in that brings them back afterwards.
 * getUser (not getSession) asks Auth, so a forged or revoked cookie does not pass.
 */
export async function requireUser(returnTo: string): Promise<{ user: User; supabase: Awaited<ReturnType<typeof createClient>> }> {
  const supabase = await createClient();
  const {
    data: { user },
  } = await supabase.auth.getUser();
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(returnTo)}`);
  return { user, supabase };
}
