import 'server-only';
import { createServerClient } from '@supabase/ssr';
import { cookies } from 'next/headers';
import { cache } from 'react';
import { publicEnv } from '@/lib/env/public';
import type { Database } from './database';

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
