import 'server-only';
import { createClient } from '@supabase/supabase-js';
import { z } from 'zod';
import { publicEnv } from '@/lib/env/public';
import type { Database, DatabaseClient } from './database';

/**
 * The app server's secret-key client: it bypasses RLS, so it is used for one thing, storing the
 * gallery thumbnails the server makes (lib/jobs/job-thumbnail.ts), after the caller's own
 * session has proved they may read the image. Never in a browser: `server-only` fails the build
 * of any client module that imports this, the key is read from a variable without the
 * NEXT_PUBLIC_ prefix (Next.js inlines only those), and the e2e journeys check that no script the
 * browser loads contains it. A new client per request like the session clients (cheap: no session, nothing persisted).
 */
const secretKeySchema = z
  .string({ message: 'SUPABASE_SECRET_KEY must be the project\'s secret key (sb_secret_...)' })
  .min(20, 'SUPABASE_SECRET_KEY must be the project\'s secret key (sb_secret_...)')
  .refine((key) => !key.startsWith('sb_publishable_'), 'SUPABASE_SECRET_KEY holds the publishable key: it must be the secret key (sb_secret_...)');

export function createSecretClient(): DatabaseClient {
  return createClient<Database>(publicEnv().NEXT_PUBLIC_SUPABASE_URL, secretKeySchema.parse(process.env.SUPABASE_SECRET_KEY), {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}
