import { z } from 'zod';

/**
 * The only configuration the browser may see. Next.js inlines `NEXT_PUBLIC_*` at build time,
 * so each variable is read by its literal name; read lazily so a missing value is a clear
 * error where it is used rather than a crash at import.
 *
 * The key is the project's publishable key (`sb_publishable_...`). A deployment made before
 * Supabase's key change sets the legacy anon key in NEXT_PUBLIC_SUPABASE_ANON_KEY instead; that
 * still works until the project switches legacy keys off.
 */
const publicEnvSchema = z.object({
  NEXT_PUBLIC_SUPABASE_URL: z.url({ message: 'NEXT_PUBLIC_SUPABASE_URL must be the project URL' }),
  supabaseKey: z
    .string({ message: 'NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY must be the publishable key (sb_publishable_...)' })
    .min(20, 'NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY must be the publishable key (sb_publishable_...)')
    .refine((key) => !key.startsWith('sb_secret_'), 'a secret key must never reach the browser: use the publishable key'),
});

export type PublicEnv = z.infer<typeof publicEnvSchema>;

let cached: PublicEnv | undefined;

export function publicEnv(): PublicEnv {
  cached ??= publicEnvSchema.parse({
    NEXT_PUBLIC_SUPABASE_URL: process.env.NEXT_PUBLIC_SUPABASE_URL,
    supabaseKey: process.env.NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY || process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY,
  });
  return cached;
}
