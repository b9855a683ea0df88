import type { AppRole } from './roles';

/**
 * The accounts supabase/seed.sql creates on a local database (never on a hosted project): the
 * sign-in page offers them, and `npm run dev` prints them, from this one list.
 */
export const DEMO_PASSWORD = 'jobhealth-demo';

export interface DemoAccount {
  email: string;
  role: AppRole;
  /** What the account is for, in a few words. */
  note: string;
}

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { email: 'admin@example.com', role: 'admin', note: 'the whole console' },
  { email: 'support@example.com', role: 'support', note: 'refunds, credits' },
  { email: 'alice@example.com', role: 'user', note: '100 credits' },
  { email: 'bob@example.com', role: 'user', note: '20 credits' },
];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether the app talks to a Supabase API on this machine: the local platform (or `supabase
 * start`), the only places the seed and so the demo accounts exist. Judged from the project URL
 * the app is configured with anyway, so no extra switch can be left on by mistake in production,
 * where the URL is the hosted project's.
 */
export function isLocalProject(projectUrl: string): boolean {
  try {
    const host = new URL(projectUrl).hostname;
    return LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost');
  } catch {
    return false;
  }
}
