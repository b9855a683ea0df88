import { createServerClient } from '@supabase/ssr';
import { NextResponse, type NextRequest } from 'next/server';
import { publicEnv } from '@/lib/env/public';
import type { Database } from './database';

/**
 * Runs before every page: refreshes an expiring session and writes the new cookies to both
 * the request (for the page about to render) and the response (for the browser).
 */
export async function updateSession(request: NextRequest) {
  let response = NextResponse.next({ request });
  const env = publicEnv();
  const supabase = createServerClient<Database>(env.NEXT_PUBLIC_SUPABASE_URL, env.supabaseKey, {
    cookies: {
      getAll: () => request.cookies.getAll(),
      setAll: (toSet) => {
        for (const { name, value } of toSet) request.cookies.set(name, value);
        response = NextResponse.next({ request });
        for (const { name, value, options } of toSet) response.cookies.set(name, value, options);
      },
    },
  });
  // Refreshes an expired access token (and writes the new cookies) and verifies the token
  // against the JWKS, cached after the first fetch: no Auth round trip for a valid session.
  await supabase.auth.getClaims();
  return response;
}
