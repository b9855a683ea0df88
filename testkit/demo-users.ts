import { DEMO_PASSWORD } from '../lib/auth/demo-accounts.ts';

/** The seed's demo accounts (supabase/seed.sql), by persona. */
export { DEMO_PASSWORD };
export const DEMO_USERS = {
  admin: { id: '00000000-0000-4000-8000-00000000a001', email: 'admin@example.com' },
  support: { id: '00000000-0000-4000-8000-00000000a002', email: 'support@example.com' },
  alice: { id: '00000000-0000-4000-8000-00000000a003', email: 'alice@example.com' },
  bob: { id: '00000000-0000-4000-8000-00000000a004', email: 'bob@example.com' },
} as const;
export type Persona = keyof typeof DEMO_USERS;
