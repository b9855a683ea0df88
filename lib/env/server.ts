import 'server-only';
import { z } from 'zod';

/** Server-only secrets: importing this from a client component fails the build. */
const serverEnvSchema = z.object({
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20, 'SUPABASE_SERVICE_ROLE_KEY is required on the server'),
});

let cached: z.infer<typeof serverEnvSchema> | undefined;

export function serverEnv() {
  cached ??= serverEnvSchema.parse({ SUPABASE_SERVICE_ROLE_KEY: process.env.SUPABASE_SERVICE_ROLE_KEY });
  return cached;
}
