import 'server-only';
import { createServerClient } from '@supabase/ssr';
import { createClient as createSupabaseClient } from '@supabase/supabase-js';
import { cookies } from 'next/headers';
import { cache } from 'react';
import { publicEnv } from '@/lib/env/public';
import type { Database, DatabaseClient } from './database';

/**
 * A client per request, acting as the signed-in user (never a shared global: one user's
 * session must not serve another's request). React's cache() makes it one per request however
 * many server components ask, so the session cookie is read once. Server Components cannot set
 * cookies; the proxy refreshes the session before they run, so a failed set there is harmless.
 */
export const createClient = cache(async () => {
  const cookieStore = await cookies();
  const env = publicEnv();
  return createServerClient<Database>(env.NEXT_PUBLIC_SUPABASE_URL, env.supabaseKey, {
    cookies: {
      getAll: () => cookieStore.getAll(),
      setAll: (toSet) => {
        try {
          for (const { name, value, options } of toSet) cookieStore.set(name, value, options);
        } catch {
          /* called from a Server Component: the proxy has already refreshed the session */
        }
      },
    },
  });
});

/**
 * The signed-in caller for a route handler that sends several requests as them (the gallery
 * thumbnail: the job, the stored thumbnail, the image, the job again), or null without a session
 * whose token verifies. The cookie client above asks its auth client for the session before every
 * request it sends, and each time @supabase/ssr decodes the base64url session cookie again, a
 * code point at a time: about 90 KB of garbage per read of a signed-in user's cookie, six reads
 * in a thumbnail's first view (docs/end-users.md has the measurements). Here the session is read
 * once (an expiring one is refreshed and its cookies written, as getClaims() would do), its token
 * verified against the project's signing keys (fetched once per process, no Auth round trip),
 * and the client returned sends that token and holds nothing else of the session: it cannot
 * refresh it or sign out. One per request, like the cookie client.
 */
export async function createCallerClient(): Promise<DatabaseClient | null> {
  const cookieClient = await createClient();
  const { data: current } = await cookieClient.auth.getSession();
  const token = current.session?.access_token;
  if (!token) return null;
  const { data: verified } = await cookieClient.auth.getClaims(token);
  if (!verified) return null;
  const env = publicEnv();
  return createSupabaseClient<Database>(env.NEXT_PUBLIC_SUPABASE_URL, env.supabaseKey, {
    accessToken: async () => token,
    global: { fetch: fetchNotMemoized },
  });
}

/**
 * Next.js wraps fetch to memoize a page's GET requests and, in a route handler too (where it
 * memoizes nothing), tees every GET response's body; a teed byte stream copies each chunk for
 * the branch nobody reads, 0.7 MB more for a thumbnail's 1K image. A request with a signal is left
 * alone (Next.js's documented opt-out of memoization): this one is never aborted.
 */
const NOT_MEMOIZED = new AbortController().signal;
const fetchNotMemoized: typeof fetch = (input, init) => fetch(input, { ...init, signal: init?.signal ?? NOT_MEMOIZED });
