import { z } from 'zod';

export const signInSchema = z.object({
  email: z.email('Enter a valid email address').max(320),
  password: z.string().min(1, 'Enter your password').max(200),
});

export type SignInInput = z.infer<typeof signInSchema>;

/** Only same-site paths may be returned to after sign-in (no open redirect). */
export function safeNextPath(next: string | null | undefined): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return null;
  return next;
}
