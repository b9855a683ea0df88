import { createBrowserClient } from '@supabase/ssr';
import { publicEnv } from '@/lib/env/public';
import type { Database } from './database';

/** The browser's client: session in cookies shared with the server; one instance per tab. */
export function createClient() {
  const env = publicEnv();
  return createBrowserClient<Database>(env.NEXT_PUBLIC_SUPABASE_URL, env.supabaseKey);
}
